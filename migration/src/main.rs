//! `cargo run -p migration -- <up|down|reset|status> <database-url>`: apply or undo migrations
//! without the server. The entity drift check in `.ci/run` runs this binary as the workspace
//! build made it (`target/debug/migration up <url>`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Database;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), DbErr> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| "up".to_owned());
    let url = args
        .next()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .ok_or_else(|| {
            DbErr::Custom("usage: migration <up|down|reset|status> <database-url>".to_owned())
        })?;
    let db = Database::connect(url).await?;
    match command.as_str() {
        "up" => migration::Migrator::up(&db, None).await,
        "down" => migration::Migrator::down(&db, None).await,
        "reset" => migration::Migrator::reset(&db).await,
        "status" => migration::Migrator::status(&db).await,
        other => Err(DbErr::Custom(format!("unknown command {other}"))),
    }
}
