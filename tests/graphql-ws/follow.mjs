// A graphql-ws client following one room, run by tests/it/balancer.rs:
//   node follow.mjs <ws url> <token> <room id>
// It prints one JSON line per thing that happens: {"backend": name} for each socket it opens
// (the balancer's X-Confab-Backend header), {"message": {id, body}} for each message,
// {"closed": code} when a socket closes. Reconnecting is the library's own (its default
// shouldRetry, which does not give up on 1012); the subscription's variables carry the last
// message seen as `after`, and graphql-ws sends that same payload again on every reconnect,
// so the server replays what was missed.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, room] = process.argv.slice(2);
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

class Tapped extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on('upgrade', (response) => print({ backend: response.headers['x-confab-backend'] }));
  }
}

const client = createClient({
  url,
  webSocketImpl: Tapped,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 5,
  retryWait: () => new Promise((resolve) => setTimeout(resolve, 200)),
  on: { closed: (event) => print({ closed: event.code }) },
});

const variables = { room, after: null };
client.subscribe(
  {
    query: `subscription($room: UUID!, $after: UUID) {
      roomEvents(roomId: $room, after: $after) { ... on MessageAdded { message { id body } } }
    }`,
    variables,
  },
  {
    next: (result) => {
      const message = result.data?.roomEvents?.message;
      if (message) {
        variables.after = message.id;
        print({ message });
      } else {
        print({ unexpected: result });
      }
    },
    error: (error) => {
      print({ error: String(error?.code ?? error?.message ?? error) });
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
