//! Work that concurrent requests share: jobs queue up, and a worker takes whatever is queued
//! (up to a limit) whenever it is free and handles it as one batch. Nobody waits for a batch
//! to fill, so a lone job costs what it would alone; under load, one statement serves many.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

/// Starts `workers` tasks that take batches of up to `max` jobs from `queue` and hand each to
/// `work`. With several workers, one gathers while the others work. Must run inside the tokio
/// runtime; the tasks stop when every sender of the queue is gone.
pub fn spawn_workers<J, F, Fut>(workers: usize, max: usize, queue: mpsc::Receiver<J>, work: F)
where
    J: Send + 'static,
    F: Fn(Vec<J>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..workers {
        let (queue, work) = (queue.clone(), work.clone());
        tokio::spawn(async move {
            loop {
                let mut batch = Vec::new();
                if queue.lock().await.recv_many(&mut batch, max).await == 0 {
                    break;
                }
                work(batch).await;
            }
        });
    }
}
