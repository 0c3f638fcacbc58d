#!/usr/bin/env node
// The baseline of the server benchmark: a minimal in-memory relay on `ws` that speaks the
// Parley v1 frames the load generator uses, and nothing more. It stores nothing on disk,
// hashes no password and keeps every message only as long as it takes to forward it, so
// it shows what relaying the same traffic costs in a plain Node.js process.
//
//   node relay.js [PORT]      (or PORT=... node relay.js; 0, the default, picks a free port)
//
// Prints `baseline relay listening on ws://127.0.0.1:<port>/ws` on stdout once it listens.
'use strict';
const crypto = require('node:crypto');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const UserName = /^[a-z0-9_.-]{2,32}$/;
const PingIntervalMs = 30000; // like parley's --ping-interval default: dead peers are dropped

const users = new Map(); // name -> { password, conns: Set<ws> }
const tokens = new Map(); // token -> { user, device }
const lastSeq = new Map(); // conversation id -> last seq handed out
const acks = new Map(); // `${sender}\n${cid}` -> { conv, seq, ts }: the idempotency record

const send = (ws, frame) => ws.send(JSON.stringify(frame));
const error = (ws, rid, code, message) =>
    send(ws, rid === undefined ? { type: 'error', code, message } : { type: 'error', rid, code, message });
const isText = (v) => typeof v === 'string' && v.length > 0;

function welcome(ws, rid, user, device, token) {
    ws.user = user;
    users.get(user).conns.add(ws);
    send(ws, { type: 'welcome', rid, user, device, token, expires: Date.now() + 30 * 86400000 });
}

function signIn(ws, f) {
    if (f.type === 'resume') {
        const session = isText(f.token) && tokens.get(f.token);
        if (!session) return error(ws, f.rid, 'auth_failed', 'this session has expired or was signed out');
        return welcome(ws, f.rid, session.user, session.device, f.token);
    }
    const user = typeof f.user === 'string' ? f.user.toLowerCase() : '';
    if (!UserName.test(user)) return error(ws, f.rid, 'bad_request', "'user' must be 2..32 of [a-z0-9_.-]");
    if (!isText(f.password)) return error(ws, f.rid, 'bad_request', "'password' is required");
    const device = isText(f.device) ? f.device : 'default';
    if (f.type === 'register') {
        if (users.has(user)) return error(ws, f.rid, 'user_exists', `the name '${user}' is taken`);
        users.set(user, { password: f.password, conns: new Set() });
    } else if (users.get(user)?.password !== f.password) {
        return error(ws, f.rid, 'auth_failed', 'wrong user name or password');
    }
    const token = crypto.randomBytes(32).toString('base64url');
    tokens.set(token, { user, device });
    welcome(ws, f.rid, user, device, token);
}

function relay(ws, f) {
    const to = typeof f.to === 'string' ? f.to.toLowerCase() : '';
    if (!isText(f.cid)) return error(ws, f.rid, 'bad_request', "'cid' is required");
    if (!isText(f.body)) return error(ws, f.rid, 'bad_request', "'body' is required");
    if (to === ws.user) return error(ws, f.rid, 'bad_request', 'to: you cannot send a message to yourself');
    const recipient = users.get(to);
    if (!recipient) return error(ws, f.rid, 'not_found', `to: there is no user named '${to}'`);

    const key = `${ws.user}\n${f.cid}`;
    const first = acks.get(key);
    if (first) return send(ws, { type: 'ack', rid: f.rid, cid: f.cid, ...first, dup: true });
    const conv = ws.user < to ? `${ws.user}:${to}` : `${to}:${ws.user}`;
    const seq = (lastSeq.get(conv) ?? 0) + 1;
    lastSeq.set(conv, seq);
    const ts = Date.now();
    acks.set(key, { conv, seq, ts });
    send(ws, { type: 'ack', rid: f.rid, cid: f.cid, conv, seq, ts });

    // Serialised once, sent to every device of both users but the sending connection.
    const msg = JSON.stringify({ type: 'msg', conv, seq, from: ws.user, to, cid: f.cid, body: f.body, ts });
    for (const c of recipient.conns) c.send(msg);
    for (const c of users.get(ws.user).conns) if (c !== ws) c.send(msg);
}

const SignIn = new Set(['register', 'login', 'resume']);
const NoReply = new Set(['receipt', 'typing', 'watch']); // accepted, answered `ok`, not acted on

function onFrame(ws, data, isBinary) {
    let f;
    try {
        f = isBinary ? null : JSON.parse(data.toString('utf8'));
    } catch {
        f = null;
    }
    if (f === null || typeof f !== 'object' || Array.isArray(f) || typeof f.type !== 'string')
        return error(ws, undefined, 'bad_request', 'a frame is one JSON object with a "type"');
    const rid = typeof f.rid === 'string' ? f.rid : undefined;
    const known = SignIn.has(f.type) || NoReply.has(f.type) || f.type === 'send';
    if (!known) return error(ws, rid, 'unknown_type', `the baseline relay does not serve '${f.type}'`);
    if (SignIn.has(f.type)) {
        if (ws.user) return error(ws, rid, 'bad_request', 'this connection is already authenticated');
        return signIn(ws, { ...f, rid });
    }
    if (!ws.user) return error(ws, rid, 'unauthenticated', 'sign in first');
    if (f.type === 'send') return relay(ws, { ...f, rid });
    if (rid !== undefined) send(ws, { type: 'ok', rid });
}

const server = new WebSocketServer({
    host: '127.0.0.1',
    port,
    path: '/ws',
    maxPayload: 65536,
    clientTracking: true,
    handleProtocols: (offered) => (offered.has('parley.v1') ? 'parley.v1' : false),
});

server.on('connection', (ws) => {
    ws.alive = true;
    ws.on('pong', () => (ws.alive = true));
    ws.on('message', (data, isBinary) => {
        ws.alive = true;
        onFrame(ws, data, isBinary);
    });
    ws.on('close', () => ws.user && users.get(ws.user).conns.delete(ws));
    ws.on('error', () => {}); // the close that follows does the cleanup
    send(ws, {
        type: 'hello', protocol: 1, server: 'parley-baseline-relay/1', node: 'baseline',
        limits: { maxFrameBytes: 65536, maxBodyChars: 4000 },
    });
});

// The standard ws heartbeat: ping everyone, drop who did not answer the previous ping.
const heartbeat = setInterval(() => {
    for (const ws of server.clients) {
        if (!ws.alive) ws.terminate();
        else {
            ws.alive = false;
            ws.ping();
        }
    }
}, PingIntervalMs);

server.on('listening', () =>
    console.log(`baseline relay listening on ws://127.0.0.1:${server.address().port}/ws`));
server.on('error', (e) => {
    console.error(`baseline relay: ${e.message}`);
    process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT'])
    process.on(signal, () => {
        clearInterval(heartbeat);
        for (const ws of server.clients) ws.close(1001, 'server shutting down');
        server.close(() => process.exit(0));
        setTimeout(() => process.exit(0), 2000).unref();
    });
