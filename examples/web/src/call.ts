// The call of the open room (docs/calls.md): who is in it, live; join with the microphone,
// mute, leave. Audio goes peer to peer, a full mesh: one RTCPeerConnection per other session,
// negotiated through Confab (`sendSignal` out, `callEvents` in). Of each pair the newer
// session (the larger id: session ids are UUID v7s, which sort by time) makes the offer, the
// other answers; ICE candidates trickle as ICE_CANDIDATE signals. `?relay=1` in the page's
// URL allows only TURN relay candidates (`iceTransportPolicy: "relay"`), to test the TURN
// server and its credentials.

import type { Client } from "graphql-ws";
import { request, subscribe } from "./api";
import * as doc from "./documents";
import type { CallConnectionState, CallEvent, CallParticipant, SignalKind, User } from "./types";
import type { CallStateInput } from "./generated/graphql";

/** How long the answering side waits for an offer before asking for one (RENEGOTIATE). */
const OFFER_WAIT_MS = 4000;

export interface CallHost {
  me: () => User | null;
  showError: (error: unknown) => void;
}

interface Peer {
  remote: string;
  pc: RTCPeerConnection;
  /** This side makes the offers (its session id is the larger). */
  offerer: boolean;
  /** Candidates that came before the remote description. */
  pending: RTCIceCandidateInit[];
  audio: HTMLAudioElement;
  /** Signals from this peer, handled one after the other. */
  queue: Promise<void>;
  askTimer: number;
}

interface Joined {
  sessionId: string;
  config: RTCConfiguration;
  stream: MediaStream;
  peers: Map<string, Peer>;
  muted: boolean;
  reported: CallConnectionState;
  /** Sessions that said BYE: no new connection to them. */
  gone: Set<string>;
}

interface RoomCall {
  roomId: string;
  socket: Client;
  host: CallHost;
  participants: Map<string, CallParticipant>;
  stopEvents: () => void;
  joined: Joined | null;
  busy: boolean;
  note: string;
}

/** What the browser test reads: the session and its peer connections, by remote session id. */
declare global {
  interface Window {
    __confabCall?: { sessionId: string | null; peers: Map<string, RTCPeerConnection>; relayOnly: boolean };
  }
}

const relayOnly = new URLSearchParams(location.search).get("relay") === "1";
let call: RoomCall | null = null;

function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`missing element ${id}`);
  return found;
}

function exposed() {
  window.__confabCall ??= { sessionId: null, peers: new Map(), relayOnly };
  return window.__confabCall;
}

// ---- the room's call, watched or joined --------------------------------------------------

/** The open room changed: watch its call (who is in it) until `closeCall`. */
export function openCall(roomId: string, socket: Client, host: CallHost) {
  closeCall();
  call = {
    roomId,
    socket,
    host,
    participants: new Map(),
    stopEvents: () => {},
    joined: null,
    busy: false,
    note: "",
  };
  listen(call, null);
  render();
}

/** The room was closed (or the user signs out): leave the call if in it, stop watching. */
export function closeCall() {
  const current = call;
  if (!current) return;
  call = null;
  if (current.joined) {
    const { sessionId } = current.joined;
    const byes = sayBye(current.joined);
    hangUp(current.joined);
    // Leaving first and ending the subscription after gives the reason LEFT, not DISCONNECTED.
    byes
      .then(() => request(doc.LEAVE_CALL, { sessionId }))
      .catch(() => {})
      .finally(() => current.stopEvents());
  } else {
    current.stopEvents();
  }
  render();
}

/**
 * (Re)subscribes to the call's events, as a watcher (`sessionId` null) or as the joined
 * session: that subscription also carries the signals addressed to it and keeps the session
 * in the call while it lasts. Every subscription starts with a snapshot of the participants.
 */
function listen(room: RoomCall, sessionId: string | null) {
  room.stopEvents();
  room.participants.clear();
  room.stopEvents = subscribe(
    room.socket,
    doc.CALL_EVENTS,
    { roomId: room.roomId, sessionId },
    (d) => onEvent(room, d.callEvents),
    (error) => {
      if (call !== room) return;
      if (room.joined && room.joined.sessionId === sessionId) {
        dropped(room, "the call connection was lost");
      }
      room.host.showError(error);
    },
  );
}

function onEvent(room: RoomCall, event: CallEvent) {
  if (call !== room) return;
  const joined = room.joined;
  switch (event.__typename) {
    case "ParticipantJoined":
    case "ParticipantUpdated": {
      const p = event.participant;
      room.participants.set(p.sessionId, p);
      if (joined && p.sessionId !== joined.sessionId) peerFor(room, joined, p.sessionId);
      break;
    }
    case "ParticipantLeft": {
      const p = event.participant;
      room.participants.delete(p.sessionId);
      if (joined?.sessionId === p.sessionId) {
        dropped(room, `you left the call (${event.reason.toLowerCase()})`);
        return;
      }
      if (joined) closePeer(joined, p.sessionId);
      break;
    }
    case "CallEnded":
      room.participants.clear();
      if (joined) {
        dropped(room, "the call ended");
        return;
      }
      break;
    case "Signal":
      if (joined) onSignal(room, joined, event.fromSessionId, event.kind, event.payload);
      break;
  }
  render();
}

/** Our session is gone (left elsewhere, timed out, the socket dropped): back to watching. */
function dropped(room: RoomCall, why: string) {
  if (!room.joined) return;
  hangUp(room.joined);
  room.joined = null;
  room.note = why;
  listen(room, null);
  render();
}

// ---- joining, muting, leaving ------------------------------------------------------------

async function join() {
  const room = call;
  if (!room || room.joined || room.busy) return;
  room.busy = true;
  room.note = "";
  render();
  let stream: MediaStream | null = null;
  try {
    // The microphone first: a refused permission should not leave a session behind.
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const data = await request(doc.JOIN_CALL, {
      roomId: room.roomId,
      input: { muted: false, cameraOff: true },
    });
    const session = data.joinCall;
    if (call !== room) {
      stream.getTracks().forEach((t) => t.stop());
      await request(doc.LEAVE_CALL, { sessionId: session.sessionId }).catch(() => {});
      return;
    }
    room.joined = {
      sessionId: session.sessionId,
      config: {
        // The list as Confab hands it out, without the extra expiresAt and null credentials.
        iceServers: session.iceServers.map((s) => ({
          urls: s.urls,
          ...(s.username !== null ? { username: s.username } : {}),
          ...(s.credential !== null ? { credential: s.credential } : {}),
        })),
        iceTransportPolicy: relayOnly ? "relay" : "all",
      },
      stream,
      peers: new Map(),
      muted: false,
      reported: "CONNECTING",
      gone: new Set(),
    };
    exposed().sessionId = session.sessionId;
    listen(room, session.sessionId);
  } catch (error) {
    stream?.getTracks().forEach((t) => t.stop());
    throw error;
  } finally {
    room.busy = false;
    render();
  }
}

async function leave() {
  const room = call;
  const joined = room?.joined;
  if (!room || !joined) return;
  const byes = sayBye(joined);
  hangUp(joined);
  room.joined = null;
  room.note = "";
  render();
  try {
    await byes;
    await request(doc.LEAVE_CALL, { sessionId: joined.sessionId });
  } finally {
    if (call === room && !room.joined) listen(room, null);
    render();
  }
}

async function toggleMute() {
  const room = call;
  const joined = room?.joined;
  if (!room || !joined) return;
  joined.muted = !joined.muted;
  for (const track of joined.stream.getAudioTracks()) track.enabled = !joined.muted;
  render();
  await updateState(room, joined, { muted: joined.muted });
}

async function updateState(room: RoomCall, joined: Joined, input: CallStateInput) {
  const data = await request(doc.UPDATE_CALL_STATE, {
    sessionId: joined.sessionId,
    input,
  });
  if (call === room && room.joined === joined && room.participants.has(joined.sessionId)) {
    room.participants.set(joined.sessionId, data.updateCallState);
    render();
  }
}

/** BYE to every peer, before leaving: a session that left can send no more signals. */
function sayBye(joined: Joined): Promise<unknown> {
  return Promise.all([...joined.peers.keys()].map((remote) => signal(joined, remote, "BYE", {})));
}

/** Stops the microphone and closes every peer connection (the session itself is left apart). */
function hangUp(joined: Joined) {
  for (const remote of [...joined.peers.keys()]) closePeer(joined, remote);
  joined.stream.getTracks().forEach((t) => t.stop());
  const view = exposed();
  if (view.sessionId === joined.sessionId) view.sessionId = null;
}

// ---- peer connections and signals --------------------------------------------------------

function signal(joined: Joined, to: string, kind: SignalKind, payload: unknown): Promise<void> {
  return request(doc.SEND_SIGNAL, {
    input: { fromSessionId: joined.sessionId, toSessionId: to, kind, payload },
  }).then(
    () => {},
    (error) => {
      // A peer that just left is not an error worth showing; anything else is.
      if (joined.peers.has(to) && call?.joined === joined) call.host.showError(error);
    },
  );
}

function peerFor(room: RoomCall, joined: Joined, remote: string): Peer | null {
  const known = joined.peers.get(remote);
  if (known) return known;
  if (joined.gone.has(remote)) return null;
  const pc = new RTCPeerConnection(joined.config);
  const audio = document.createElement("audio");
  audio.autoplay = true;
  audio.dataset.testid = "call-audio";
  audio.dataset.sessionId = remote;
  byTestId("call-audio-box").append(audio);
  const peer: Peer = {
    remote,
    pc,
    offerer: joined.sessionId > remote,
    pending: [],
    audio,
    queue: Promise.resolve(),
    askTimer: 0,
  };
  joined.peers.set(remote, peer);
  exposed().peers.set(remote, pc);
  for (const track of joined.stream.getTracks()) pc.addTrack(track, joined.stream);
  pc.ontrack = (e) => {
    audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    audio.play().catch(() => {});
  };
  pc.onicecandidate = (e) => {
    if (e.candidate) void signal(joined, remote, "ICE_CANDIDATE", e.candidate.toJSON());
  };
  pc.onconnectionstatechange = () => {
    if (joined.peers.get(remote) !== peer) return;
    if (pc.connectionState === "failed") {
      // Try once more with fresh ICE: the offerer restarts, the answerer asks it to.
      if (peer.offerer) enqueue(peer, () => offer(joined, peer, true));
      else void signal(joined, remote, "RENEGOTIATE", {});
    }
    reportConnection(room, joined);
    render();
  };
  if (peer.offerer) {
    enqueue(peer, () => offer(joined, peer, false));
  } else {
    // The offer may have been sent before our subscription was up (signals are not stored):
    // if none comes, ask for one.
    peer.askTimer = window.setTimeout(() => {
      if (joined.peers.get(remote) === peer && !pc.remoteDescription) void signal(joined, remote, "RENEGOTIATE", {});
    }, OFFER_WAIT_MS);
  }
  return peer;
}

function closePeer(joined: Joined, remote: string) {
  const peer = joined.peers.get(remote);
  if (!peer) return;
  joined.peers.delete(remote);
  exposed().peers.delete(remote);
  clearTimeout(peer.askTimer);
  peer.pc.close();
  peer.audio.srcObject = null;
  peer.audio.remove();
}

function enqueue(peer: Peer, step: () => Promise<void>) {
  peer.queue = peer.queue.then(step).catch((error) => {
    if (call?.joined?.peers.get(peer.remote) === peer) call.host.showError(error);
  });
}

async function offer(joined: Joined, peer: Peer, restart: boolean) {
  const { pc } = peer;
  if (pc.signalingState === "closed") return;
  // An offer of ours still unanswered (its signals may be lost): replace it.
  if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" });
  await pc.setLocalDescription(await pc.createOffer({ iceRestart: restart }));
  await signal(joined, peer.remote, "OFFER", pc.localDescription?.toJSON());
}

function onSignal(room: RoomCall, joined: Joined, from: string, kind: SignalKind, payload: unknown) {
  if (from === joined.sessionId) return;
  if (kind === "BYE") {
    joined.gone.add(from);
    closePeer(joined, from);
    return;
  }
  const peer = peerFor(room, joined, from);
  if (!peer) return;
  const { pc } = peer;
  enqueue(peer, async () => {
    if (pc.signalingState === "closed") return;
    switch (kind) {
      case "OFFER": {
        if (peer.offerer) return; // never happens with one offerer per pair
        await pc.setRemoteDescription(payload as RTCSessionDescriptionInit);
        await pc.setLocalDescription(await pc.createAnswer());
        await signal(joined, from, "ANSWER", pc.localDescription?.toJSON());
        await flushCandidates(peer);
        break;
      }
      case "ANSWER":
        if (pc.signalingState !== "have-local-offer") return;
        await pc.setRemoteDescription(payload as RTCSessionDescriptionInit);
        await flushCandidates(peer);
        break;
      case "ICE_CANDIDATE":
        if (pc.remoteDescription) await addCandidate(pc, payload as RTCIceCandidateInit);
        else peer.pending.push(payload as RTCIceCandidateInit);
        break;
      case "RENEGOTIATE":
        // The other side lost our offer or its connection: offer again with fresh ICE.
        if (peer.offerer) await offer(joined, peer, true);
        break;
    }
  });
}

async function flushCandidates(peer: Peer) {
  const pending = peer.pending.splice(0);
  for (const candidate of pending) await addCandidate(peer.pc, candidate);
}

async function addCandidate(pc: RTCPeerConnection, candidate: RTCIceCandidateInit) {
  // A candidate of an earlier ICE generation (before a restart) is refused: that is fine.
  await pc.addIceCandidate(candidate).catch(() => {});
}

/** Our connection state, from all peer connections, published when it changes. */
function reportConnection(room: RoomCall, joined: Joined) {
  const states = [...joined.peers.values()].map((p) => p.pc.connectionState);
  if (states.length === 0) return;
  const state: CallConnectionState = states.includes("failed")
    ? "FAILED"
    : states.every((s) => s === "connected")
      ? "CONNECTED"
      : states.includes("disconnected")
        ? "RECONNECTING"
        : "CONNECTING";
  if (state === joined.reported) return;
  joined.reported = state;
  updateState(room, joined, { connection: state }).catch((error) => {
    if (call?.joined === joined) room.host.showError(error);
  });
}

// ---- the view ----------------------------------------------------------------------------

function render() {
  const room = call;
  const joined = room?.joined ?? null;
  const status = byTestId("call-status");
  const count = room?.participants.size ?? 0;
  status.textContent = joined
    ? `In the call (${count})${relayOnly ? " · relay only" : ""}`
    : room?.note || (count > 0 ? `A call is on: ${count} in it` : "No call");
  byTestId("call").dataset.state = joined ? "joined" : count > 0 ? "live" : "idle";
  const joinButton = byTestId<HTMLButtonElement>("call-join");
  joinButton.hidden = joined !== null;
  joinButton.disabled = !room || room.busy;
  joinButton.textContent = count > 0 ? "Join call" : "Start call";
  byTestId("call-leave").hidden = joined === null;
  const mute = byTestId("call-mute");
  mute.hidden = joined === null;
  mute.textContent = joined?.muted ? "Unmute" : "Mute";
  mute.dataset.muted = String(joined?.muted ?? false);

  const me = room?.host.me();
  byTestId("call-tiles").replaceChildren(
    ...[...(room?.participants.values() ?? [])].map((p) => {
      const mine = p.sessionId === joined?.sessionId;
      const tile = document.createElement("li");
      tile.className = mine ? "tile mine" : "tile";
      tile.dataset.testid = "call-tile";
      tile.dataset.sessionId = p.sessionId;
      tile.dataset.username = p.user.username;
      tile.dataset.muted = String(p.muted);
      tile.dataset.connection = p.connection;
      const name = document.createElement("span");
      name.className = "tile-name";
      name.textContent = p.user.displayName + (mine ? " (you)" : p.user.id === me?.id ? " (your other device)" : "");
      const state = document.createElement("span");
      state.className = "tile-state";
      state.dataset.testid = "call-tile-state";
      state.textContent = [p.muted ? "muted" : "mic on", p.connection.toLowerCase()].join(" · ");
      tile.append(name, state);
      const peer = joined?.peers.get(p.sessionId);
      if (peer) tile.dataset.peer = peer.pc.connectionState;
      return tile;
    }),
  );
}

export function wireCallButtons(on: (testid: string, event: string, handler: () => Promise<void> | void) => void) {
  on("call-join", "click", () => join());
  on("call-leave", "click", () => leave());
  on("call-mute", "click", () => toggleMute());
  exposed();
  render();
}
