// A real call between two headless Chromium contexts through the example client, against a
// Confab at CONFAB_URL started with a TURN server (scripts/web-e2e/run.sh starts both). Chromium's
// fake microphone (a beep) feeds each side. Twice: once with every ICE candidate allowed, once
// with `?relay=1` (iceTransportPolicy "relay": only TURN relay candidates, with the credentials
// from joinCall's iceServers). Each time ann and bob sign up, open a direct room, join its call,
// negotiate through sendSignal / callEvents, and the test reads RTCPeerConnection.getStats() on
// both pages: the inbound audio bytes must grow on both sides, and in the relay run the
// selected candidate pair must be relay on both ends (in the other run, not relay). Then ann
// mutes and bob sees it; bob leaves (the first time with the button, the second by closing his
// page, which closes the socket his session lives on) and ann sees him go; ann leaves and the
// call is over. On failure the pages are saved as screenshots in SCREENSHOTS.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const shots = process.env.SCREENSHOTS ?? "target/web-e2e";
const WAIT = 10_000;
/** ICE through a relay, and DTLS after it, can take a while on a loaded two-core machine. */
const CONNECT_WAIT = 30_000;
/** How long the audio is measured for. */
const MEASURE_MS = 3000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
    // A fake microphone (and camera), granted without a prompt; audio plays without a click.
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
  ],
});

const problems = [];
const pages = [];
async function openPage(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (err) => problems.push(`${name} page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`${name} console: ${msg.text()}`);
  });
  pages.push([name, page]);
  return page;
}

let started = Date.now();
function step(text) {
  const now = Date.now();
  console.log(`  ok ${text} (${now - started} ms)`);
  started = now;
}

async function signUp(page, who, query) {
  await page.goto(`${base}/demo/${query}`);
  await page.getByTestId("signup-mode").click();
  await page.getByTestId("auth-username").fill(who.username);
  await page.getByTestId("auth-email").fill(`${who.username}@example.com`);
  await page.getByTestId("auth-display-name").fill(who.displayName);
  await page.getByTestId("auth-password").fill(who.password);
  await page.getByTestId("signup").click();
  await page.getByTestId("me").filter({ hasText: who.username }).waitFor();
  await page.locator('body[data-live="true"]').waitFor();
}

/** The call tile of `username`, optionally only in a state: `[data-muted="true"]`. */
function tile(page, username, state = "") {
  return page.locator(`[data-testid="call-tile"][data-username="${username}"]${state}`);
}

/** Both pages' peer connection to the other is connected. */
function connected(page) {
  return page.waitForFunction(
    () => {
      const call = window.__confabCall;
      return call?.sessionId && call.peers.size === 1 && [...call.peers.values()][0].connectionState === "connected";
    },
    undefined,
    { timeout: CONNECT_WAIT },
  );
}

/** What getStats says of the page's one peer connection: audio received, the selected pair. */
function audioStats(page) {
  return page.evaluate(async () => {
    const [pc] = [...window.__confabCall.peers.values()];
    const stats = await pc.getStats();
    let bytes = 0;
    let packets = 0;
    let pair = null;
    for (const s of stats.values()) {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        bytes += s.bytesReceived ?? 0;
        packets += s.packetsReceived ?? 0;
      }
      if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    }
    if (!pair) {
      for (const s of stats.values()) {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
      }
    }
    const local = pair ? stats.get(pair.localCandidateId) : null;
    const remote = pair ? stats.get(pair.remoteCandidateId) : null;
    return {
      bytes,
      packets,
      local: local ? `${local.candidateType} ${local.address ?? local.ip}:${local.port}/${local.protocol}` : "none",
      localType: local?.candidateType ?? "none",
      remoteType: remote?.candidateType ?? "none",
    };
  });
}

async function call(label, relay) {
  const query = relay ? "?relay=1" : "";
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const ann = { username: `ann_${stamp}`, displayName: "Ann", password: "password-ann" };
  const bob = { username: `bob_${stamp}`, displayName: "Bob", password: "password-bob" };
  console.log(`call, ${label}:`);
  started = Date.now();
  const a = await openPage(`ann (${label})`);
  const b = await openPage(`bob (${label})`);

  await signUp(a, ann, query);
  await signUp(b, bob, query);
  await a.getByTestId("direct-username").fill(bob.username);
  await a.getByTestId("direct-open").click();
  await a.locator('[data-testid="messages"][data-ready="true"]').waitFor();
  await b.getByTestId("room-item").filter({ hasText: "Ann" }).click();
  await b.locator('[data-testid="messages"][data-ready="true"]').waitFor();
  await b.getByTestId("call-status").filter({ hasText: "No call" }).waitFor();
  step("ann and bob sign up and open their direct room; no call yet");

  await a.getByTestId("call-join").click();
  await tile(a, ann.username).waitFor();
  await tile(b, ann.username).waitFor();
  await b.getByTestId("call-status").filter({ hasText: "A call is on" }).waitFor();
  step("ann starts the call: bob, not in it, sees her tile live");

  await b.getByTestId("call-join").click();
  await tile(a, bob.username).waitFor();
  await connected(a);
  await connected(b);
  // Each reports CONNECTED with updateCallState; the other hears it as ParticipantUpdated.
  await tile(a, bob.username, '[data-connection="CONNECTED"]').waitFor({ timeout: CONNECT_WAIT });
  await tile(b, ann.username, '[data-connection="CONNECTED"]').waitFor({ timeout: CONNECT_WAIT });
  for (const page of [a, b]) {
    // The other's stream plays in an <audio> element of its own.
    await page.waitForFunction(() => {
      const audio = document.querySelectorAll('[data-testid="call-audio"]');
      return audio.length === 1 && audio[0].srcObject instanceof MediaStream && !audio[0].paused;
    });
  }
  step("bob joins: offer, answer and ICE through Confab; both peer connections connected, both tiles CONNECTED, both play the other's audio");

  const before = [await audioStats(a), await audioStats(b)];
  await a.waitForTimeout(MEASURE_MS);
  const after = [await audioStats(a), await audioStats(b)];
  const result = {};
  for (const [i, who] of [[0, "ann"], [1, "bob"]]) {
    const grew = after[i].bytes - before[i].bytes;
    console.log(
      `    ${who} received ${grew} audio bytes (${after[i].packets - before[i].packets} packets) in ${MEASURE_MS} ms;` +
        ` ${after[i].bytes} in all; selected pair: local ${after[i].local}, remote ${after[i].remoteType}`,
    );
    // Opus from the fake microphone is tens of kbit/s: a few kilobytes a second at least.
    if (grew < 2000) throw new Error(`${who}'s inbound audio grew by only ${grew} bytes in ${MEASURE_MS} ms`);
    if (relay && (after[i].localType !== "relay" || after[i].remoteType !== "relay")) {
      throw new Error(`${who}'s selected pair is ${after[i].localType} -> ${after[i].remoteType}, not relay -> relay`);
    }
    if (!relay && after[i].localType === "relay") {
      throw new Error(`${who} went through the relay although direct candidates were allowed`);
    }
    result[who] = { bytes: grew, pair: `${after[i].localType} -> ${after[i].remoteType}` };
  }
  step(`audio flows both ways (${relay ? "relay on both ends" : "direct"})`);

  await a.getByTestId("call-mute").click();
  await a.getByTestId("call-mute").filter({ hasText: "Unmute" }).waitFor();
  await tile(b, ann.username, '[data-muted="true"]').waitFor();
  await tile(b, ann.username).getByTestId("call-tile-state").filter({ hasText: "muted" }).waitFor();
  step("ann mutes: bob's page shows her muted");

  if (relay) {
    // No leaveCall: the socket that carried bob's session closes, and the session goes with it.
    await b.context().close();
  } else {
    await b.getByTestId("call-leave").click();
    await b.getByTestId("call-join").waitFor();
  }
  await tile(a, bob.username).waitFor({ state: "detached" });
  await a.waitForFunction(() => window.__confabCall?.peers.size === 0);
  step(relay
    ? "bob closes his page: his session ends with his socket, ann sees him go and her peer connection closes"
    : "bob leaves: he is gone from ann's tiles and her peer connection is closed");

  await a.getByTestId("call-leave").click();
  await (relay ? a : b).getByTestId("call-status").filter({ hasText: "No call" }).waitFor();
  step(`ann leaves: the call is over${relay ? "" : " on bob's page"}`);

  if (problems.length) throw new Error(`errors in the pages:\n${problems.join("\n")}`);
  return result;
}

let ok = false;
try {
  const direct = await call("direct", false);
  const relayed = await call("relay only", true);
  console.log(`measured: ${JSON.stringify({ direct, relay: relayed })}`);
  ok = true;
} catch (err) {
  console.error(`FAILED: ${err.stack ?? err}`);
  for (const problem of problems) console.error(problem);
  mkdirSync(shots, { recursive: true });
  for (const [name, page] of pages) {
    const path = `${shots}/call-${name.replace(/[^a-z]+/g, "-").replace(/-$/, "")}.png`;
    await page.screenshot({ path, fullPage: true }).then(() => console.error(`screenshot: ${path}`), () => {});
  }
} finally {
  await browser.close();
}
console.log(ok ? "web call e2e: passed" : "web call e2e: FAILED");
process.exit(ok ? 0 : 1);
