#!/usr/bin/env node
// Open-loop load generator for a Parley v1 server (parley server or the baseline relay).
//
//   node loadgen.js --url ws://127.0.0.1:PORT/ws [--active 1000] [--held 0] [--idle-users N]
//                   [--rate 1000] [--seconds 30] [--drain 10] [--batch 200]
//                   [--tokens FILE] [--setup-only] [--sync] [--no-warmup]
//
// 1. Signs in --active users as pairs (<p>a<i> <-> <p>b<i>), one connection each.
// 2. Signs in --held idle connections: extra devices of --idle-users users (default
//    min(100, held)), by `resume` with those users' tokens. parley hashes passwords with
//    argon2 (tens of ms each), so only the idle users are registered, not every connection.
//    Idle users share no conversation with anyone: they must receive no frame at all.
//    The held connections live in a child process (`--holder`, forked, same CPUs): when a
//    server pings all 10,000 of them at once, answering takes the better part of a second,
//    and in this process that would stall the send schedule and show up as server latency.
// 3. After one warm-up message per pair (--no-warmup skips it), sends --rate messages per
//    second in total for --seconds, on an open-loop schedule: message k is due at
//    t0 + k/rate, whoever is behind, and its latencies count from that due time, so a
//    stalled server shows up as latency instead of as a slower sender (no coordinated
//    omission). Message k goes from active user k % A to that user's pair.
// 4. Waits until every message is acked and delivered (at most --drain seconds), checks that
//    nothing was lost, duplicated or reordered, and prints one JSON summary line on stdout.
//
// --tokens FILE: when FILE exists, sign the users in it in with `resume` instead of
//   registering them (fast on parley); otherwise register them and write FILE.
// --setup-only: sign the users in (writing --tokens), then exit: how the orchestrator seeds
//   a parley data directory once and copies it for every run.
// --sync: at each phase, print {"phase":...} on stdout and wait for a line on stdin before
//   going on, so the orchestrator can sample the server's memory and CPU at exact points.
//
// Exit status: 0 when the run verified, 2 when something was lost, duplicated or reordered
// (the summary says what), 1 when the run could not be set up.
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const readline = require('node:readline');
const { fork } = require('node:child_process');
const WebSocket = require('ws');

// ---- options -------------------------------------------------------------------------------
function parseArgs(argv) {
    const o = { active: 1000, held: 0, rate: 1000, seconds: 30, drain: 10, batch: 200,
        password: 'bench-password-1', setupOnly: false, sync: false, warmup: true };
    for (let i = 0; i < argv.length; ++i) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) fail(`${a} needs a value`);
            return argv[++i];
        };
        const num = () => {
            const n = Number(value());
            if (!Number.isFinite(n) || n < 0) fail(`${a} needs a non-negative number`);
            return n;
        };
        switch (a) {
        case '--url': o.url = value(); break;
        case '--active': o.active = num(); break;
        case '--held': o.held = num(); break;
        case '--idle-users': o.idleUsers = num(); break;
        case '--rate': o.rate = num(); break;
        case '--seconds': o.seconds = num(); break;
        case '--drain': o.drain = num(); break;
        case '--batch': o.batch = Math.max(1, num()); break;
        case '--prefix': o.prefix = value(); break;
        case '--password': o.password = value(); break;
        case '--tokens': o.tokens = value(); break;
        case '--setup-only': o.setupOnly = true; break;
        case '--sync': o.sync = true; break;
        case '--no-warmup': o.warmup = false; break;
        default: fail(`unknown option ${a} (see the comment at the top of loadgen.js)`);
        }
    }
    if (!o.url) fail('--url is required');
    if (o.active < 2 || o.active % 2) fail('--active must be an even number >= 2 (users come in pairs)');
    o.idleUsers = o.idleUsers ?? Math.min(100, o.held);
    if (o.held > 0 && o.idleUsers < 1) fail('--held needs --idle-users >= 1');
    return o;
}

function fail(message) {
    console.error(`loadgen: ${message}`);
    console.log(JSON.stringify({ error: message }));
    process.exit(1);
}

const log = (...args) => console.error('loadgen:', ...args);
const now = () => performance.now();

// ---- phases shared with the orchestrator ------------------------------------------------
let stdinLines = null;
async function phase(name, opts) {
    console.log(JSON.stringify({ phase: name }));
    if (!opts.sync) return;
    if (!stdinLines) stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    const { done } = await stdinLines.next();
    if (done) fail('stdin closed while waiting for the orchestrator');
}

// ---- connections -----------------------------------------------------------------------
// One WebSocket, resolved once the server's hello arrived. `onFrame` gets every parsed
// frame after that; replies to our own rids resolve `request` promises first.
function connect(url) {
    return new Promise((resolve, reject) => {
        // wss:// against bench.js --tls: a self-signed certificate made for the run.
        const ws = new WebSocket(url, 'parley.v1', { perMessageDeflate: false, handshakeTimeout: 30000,
            rejectUnauthorized: false });
        const conn = { ws, pending: new Map(), onFrame: null, closed: null, user: null };
        let helloSeen = false;
        ws.on('message', (data) => {
            let f;
            try {
                f = JSON.parse(data.toString('utf8'));
            } catch {
                return conn.onFrame?.({ type: '<not json>' });
            }
            if (!helloSeen) {
                helloSeen = true;
                if (f.type !== 'hello' || f.protocol !== 1) reject(new Error(`expected hello, got ${data}`));
                else resolve(conn);
                return;
            }
            const waiter = f.rid !== undefined && conn.pending.get(f.rid);
            if (waiter) {
                conn.pending.delete(f.rid);
                waiter(f);
            } else conn.onFrame?.(f);
        });
        ws.on('error', (e) => helloSeen || reject(e));
        ws.on('close', (code) => {
            conn.closed = code;
            if (!helloSeen) reject(new Error(`closed with ${code} before hello`));
            for (const waiter of conn.pending.values()) waiter({ type: 'error', code: 'closed' });
            conn.pending.clear();
            conn.onClose?.(code);
        });
    });
}

let nextRid = 0;
function request(conn, frame) {
    const rid = `r${++nextRid}`;
    return new Promise((resolve) => {
        conn.pending.set(rid, resolve);
        conn.ws.send(JSON.stringify({ ...frame, rid }));
    });
}

// Sign one connection in: register when no token is known, else resume.
async function signIn(url, user, token, opts) {
    const conn = await connect(url);
    const reply = token
        ? await request(conn, { type: 'resume', token })
        : await request(conn, { type: 'register', user, password: opts.password, device: 'bench' });
    if (reply.type !== 'welcome')
        throw new Error(`${token ? 'resume' : 'register'} of ${user}: ${reply.code} ${reply.message ?? ''}`);
    conn.user = reply.user;
    conn.token = reply.token;
    return conn;
}

// Runs fn(0..n-1) with at most `limit` in flight, so neither side gets thousands of
// handshakes at once.
async function pool(n, limit, fn) {
    let next = 0;
    const worker = async () => {
        while (next < n) await fn(next++);
    };
    await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

// ---- statistics ------------------------------------------------------------------------
function percentiles(values) {
    if (values.length === 0) return { p50: null, p90: null, p99: null, max: null };
    const sorted = Float64Array.from(values).sort();
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
    const round = (v) => Math.round(v * 100) / 100;
    return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

// ---- held connections --------------------------------------------------------------------
// Forks this script as the holder and resolves once it holds opts.held connections, signed
// in round robin with `tokens`. report() resolves with what they received since.
function startHolder(opts, tokens) {
    const child = fork(__filename, ['--holder'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const replies = [];
    child.on('message', (m) => (m.error ? fail(`holder: ${m.error}`) : replies.shift()?.(m)));
    child.on('exit', (code) => code && fail(`the holder process exited with ${code}`));
    const next = () => new Promise((resolve) => replies.push(resolve));
    const ready = next();
    child.send({ url: opts.url, held: opts.held, batch: opts.batch, tokens });
    return ready.then(() => ({
        report: () => {
            const reply = next();
            child.send({ report: true });
            return reply;
        },
    }));
}

async function holderMain() {
    let idleFrames = 0;
    let disconnects = 0;
    let holding = false;
    const conns = [];
    process.on('message', async (job) => {
        if (job.report) {
            holding = false;
            process.send({ idleFrames, disconnects });
            return;
        }
        try {
            await pool(job.held, job.batch, async (j) => {
                const conn = await signIn(job.url, null, job.tokens[j % job.tokens.length], {});
                conn.onFrame = () => ++idleFrames;
                conn.onClose = (code) => holding && ++disconnects && log(`held connection closed: ${code}`);
                conns.push(conn);
            });
            holding = true;
            process.send({ ready: true });
        } catch (e) {
            process.send({ error: e.message });
        }
    });
    process.on('disconnect', () => process.exit(0)); // the generator is done
}

// ---- the run ---------------------------------------------------------------------------
async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const pairs = opts.active / 2;

    // Users and, with --tokens, their tokens from an earlier (seeding) run.
    let saved = null;
    if (opts.tokens && fs.existsSync(opts.tokens)) {
        saved = JSON.parse(fs.readFileSync(opts.tokens, 'utf8'));
        if (saved.active < opts.active || saved.idleUsers < opts.idleUsers)
            fail(`${opts.tokens} holds ${saved.active} active and ${saved.idleUsers} idle users; ` +
                `this run needs ${opts.active} and ${opts.idleUsers}`);
        opts.prefix = saved.prefix;
    }
    const prefix = opts.prefix ?? `${crypto.randomBytes(3).toString('hex')}_`;
    const activeName = (u) => `${prefix}${u % 2 ? 'b' : 'a'}${u >> 1}`; // u = 2*pair + side
    const idleName = (j) => `${prefix}i${j}`;
    const tokens = saved?.tokens ?? {};

    // 1. active users, one connection each
    let t = now();
    const active = new Array(opts.active);
    await pool(opts.active, opts.batch, async (u) => {
        active[u] = await signIn(opts.url, activeName(u), tokens[activeName(u)], opts);
        tokens[activeName(u)] = active[u].token;
    });
    // the idle users' own sign-ins, closed again: their tokens serve the held connections
    await pool(saved ? 0 : opts.idleUsers, opts.batch, async (j) => {
        const conn = await signIn(opts.url, idleName(j), null, opts);
        tokens[idleName(j)] = conn.token;
        conn.ws.close(1000);
    });
    const setupActiveMs = now() - t;
    log(`${opts.active} active users and ${opts.idleUsers} idle users signed in (${(setupActiveMs / 1000).toFixed(1)} s)`);
    if (opts.tokens && !saved)
        fs.writeFileSync(opts.tokens, JSON.stringify({ prefix, active: opts.active, idleUsers: opts.idleUsers, tokens }));
    if (opts.setupOnly) {
        console.log(JSON.stringify({ setup: 'done', active: opts.active, idleUsers: opts.idleUsers }));
        process.exit(0);
    }

    // Warm-up: one message per pair creates the conversations (on parley a row, and presence
    // frames to both sides) before anything is measured, so the window shows the steady
    // state rather than a burst of first messages. Not counted anywhere.
    if (opts.warmup) {
        const replies = await Promise.all(Array.from({ length: pairs }, (_, p) => request(active[2 * p],
            { type: 'send', to: active[2 * p + 1].user, cid: `warmup-${p}`, body: 'warm-up' })));
        const bad = replies.find((r) => r.type !== 'ack');
        if (bad) fail(`warm-up send: ${bad.code} ${bad.message ?? ''}`);
        await new Promise((r) => setTimeout(r, 500)); // their msg and presence frames land unseen
    }

    // Everything a connection receives that the run did not ask for is counted here.
    const errors = {};
    const otherFrames = {};
    let disconnects = 0;
    let idleFrames = 0; // frames the held connections received after their welcome
    let running = true;
    const onClose = (code) => running && ++disconnects && log(`connection closed during the run: ${code}`);
    for (const c of active) c.onClose = onClose;

    // 2. held connections: extra devices of the idle users, in the holder process
    await phase('before-held', opts);
    t = now();
    const idleTokens = Array.from({ length: opts.idleUsers }, (_, j) => tokens[idleName(j)]);
    const holder = opts.held ? await startHolder(opts, idleTokens) : null;
    const setupHeldMs = now() - t;
    log(`${opts.held} held connections signed in (${(setupHeldMs / 1000).toFixed(1)} s)`);
    await phase('held-ready', opts);

    // 3. the open-loop send window
    const total = Math.round(opts.rate * opts.seconds);
    const tag = crypto.randomBytes(3).toString('hex');
    const intended = new Float64Array(total);
    const sentAt = new Float64Array(total);
    const ackAt = new Float64Array(total); // 0: not yet
    const deliverAt = new Float64Array(total);
    const ackCount = new Uint16Array(total);
    const deliverCount = new Uint16Array(total);
    const seqOf = new Float64Array(total); // seq from the ack or the msg, whichever came first
    // msg seq not above the last one of its conversation on that connection, or acks out of send order
    let reordered = 0;
    let seqMismatch = 0; // ack and msg of one message disagree on its seq
    let foreign = 0; // msg/ack frames for messages this run did not send
    const indexOf = (cid) => {
        const dash = typeof cid === 'string' ? cid.lastIndexOf('-') : -1;
        const k = dash > 0 && cid.slice(0, dash) === tag ? Number(cid.slice(dash + 1)) : NaN;
        return Number.isInteger(k) && k >= 0 && k < total ? k : -1;
    };
    const checkSeq = (k, seq) => {
        if (seqOf[k] === 0) seqOf[k] = seq;
        else if (seqOf[k] !== seq) ++seqMismatch;
    };
    for (const c of active) {
        const lastSeq = new Map(); // conv -> last msg seq seen on this connection
        let lastAcked = -1; // acks must come back in send order
        c.onFrame = (f) => {
            const at = now();
            if (f.type === 'msg') {
                const k = indexOf(f.cid);
                if (k < 0) return ++foreign;
                if (deliverCount[k]++ > 0) return; // a duplicate: counted as such, not as reordered
                deliverAt[k] = at;
                if (!(f.seq > (lastSeq.get(f.conv) ?? 0))) ++reordered;
                lastSeq.set(f.conv, Math.max(f.seq, lastSeq.get(f.conv) ?? 0));
                checkSeq(k, f.seq);
            } else if (f.type === 'ack') {
                const k = indexOf(f.cid);
                if (k < 0) return ++foreign;
                if (ackCount[k]++ > 0) return; // a second ack: counted in dupAcks
                ackAt[k] = at;
                if (k <= lastAcked) ++reordered;
                lastAcked = Math.max(lastAcked, k);
                checkSeq(k, f.seq);
            } else if (f.type === 'error') {
                errors[f.code] = (errors[f.code] ?? 0) + 1;
                if (Object.values(errors).reduce((a, b) => a + b) <= 5) log(`error frame: ${JSON.stringify(f)}`);
            } else otherFrames[f.type] = (otherFrames[f.type] ?? 0) + 1;
        };
    }

    await phase('send-start', opts);
    const cpu0 = process.cpuUsage();
    const t0 = now();
    const interval = 1000 / opts.rate;
    let k = 0;
    const stalls = []; // ticks that came more than 50 ms late: [seconds into the window, ms late]
    await new Promise((resolve) => {
        // Each tick sends every message that is due by now; a late tick sends a burst, and
        // those messages' latencies still count from their due times.
        const tick = () => {
            const late = now() - (t0 + k * interval);
            if (k < total && late > 50) stalls.push([Math.round((now() - t0) / 100) / 10, Math.round(late)]);
            const due = Math.min(total, Math.floor((now() - t0) / interval) + 1);
            for (; k < due; ++k) {
                const u = k % opts.active;
                const from = active[u];
                intended[k] = t0 + k * interval;
                from.ws.send(JSON.stringify({ type: 'send', rid: `s${k}`, to: active[u ^ 1].user,
                    cid: `${tag}-${k}`, body: `bench message ${k} from ${from.user}` }));
                sentAt[k] = now();
            }
            if (k < total) setTimeout(tick, Math.max(0, Math.min(5, t0 + k * interval - now())));
            else resolve();
        };
        tick();
    });
    const sendEnd = now();
    await phase('send-end', opts);

    // 4. drain: until everything is acked and delivered, or --drain seconds
    const drainStart = now();
    let pendingFrom = 0; // messages before this one are known complete
    await new Promise((resolve) => {
        const check = () => {
            while (pendingFrom < total && ackCount[pendingFrom] && deliverCount[pendingFrom]) ++pendingFrom;
            if (pendingFrom === total || now() - drainStart > opts.drain * 1000) resolve();
            else setTimeout(check, 20);
        };
        check();
    });
    const drainedAt = now();
    await new Promise((r) => setTimeout(r, 250)); // a late duplicate would show up here
    running = false;
    const cpu = process.cpuUsage(cpu0);
    if (holder) {
        const report = await holder.report();
        idleFrames += report.idleFrames;
        disconnects += report.disconnects;
    }
    await phase('drained', opts);

    // 5. verify and summarise
    const deliverMs = [];
    const ackMs = [];
    const lagMs = [];
    let acked = 0, delivered = 0, dup = 0, dupAcks = 0, lastDelivery = t0;
    for (let i = 0; i < total; ++i) {
        lagMs.push(sentAt[i] - intended[i]);
        if (ackCount[i]) {
            ++acked;
            ackMs.push(ackAt[i] - intended[i]);
            dupAcks += ackCount[i] - 1;
        }
        if (deliverCount[i]) {
            ++delivered;
            deliverMs.push(deliverAt[i] - intended[i]);
            dup += deliverCount[i] - 1;
            lastDelivery = Math.max(lastDelivery, deliverAt[i]);
        }
    }
    const lost = total - delivered;
    // Where the tail comes from: the seconds of the window (by due time) with the slowest
    // delivery, as [second, max ms, messages over 50 ms].
    const perSecond = new Map();
    for (let i = 0; i < total; ++i) {
        if (!deliverCount[i]) continue;
        const sec = Math.floor((intended[i] - t0) / 1000);
        const ms = deliverAt[i] - intended[i];
        const e = perSecond.get(sec) ?? [sec, 0, 0];
        e[1] = Math.max(e[1], Math.round(ms));
        if (ms > 50) ++e[2];
        perSecond.set(sec, e);
    }
    const slowestSeconds = [...perSecond.values()].filter((e) => e[2] > 0).sort((a, b) => b[1] - a[1]).slice(0, 5);
    const lostSample = [];
    for (let i = 0; i < total && lostSample.length < 10; ++i) {
        if (ackCount[i] && deliverCount[i]) continue;
        const u = i % opts.active;
        lostSample.push({ k: i, from: active[u].user, to: active[u ^ 1].user,
            dueS: Math.round((intended[i] - t0) / 10) / 100, acked: ackCount[i] > 0, delivered: deliverCount[i] > 0 });
    }
    const unacked = total - acked;
    const summary = {
        active: opts.active, held: opts.held, idleUsers: opts.idleUsers, rate: opts.rate, seconds: opts.seconds,
        sent: total, acked, delivered, lost, unacked, dup, dupAcks, reordered, seqMismatch, foreign,
        disconnects, idleFrames, errors, otherFrames,
        achievedRate: Math.round(total / ((sendEnd - t0) / 1000)),
        deliveredRate: Math.round(delivered / (Math.max(lastDelivery - t0, 1) / 1000)),
        deliverMs: percentiles(deliverMs),
        ackMs: percentiles(ackMs),
        scheduleLagMs: percentiles(lagMs), // how late the generator itself sent: large = generator saturated
        generatorStalls: stalls.slice(0, 10),
        slowestSeconds,
        lostSample, // the first lost messages: which pair, when due, what arrived
        drainMs: Math.round(drainedAt - drainStart),
        loadgenCpuS: Math.round((cpu.user + cpu.system) / 1e4) / 100,
        setupMs: { active: Math.round(setupActiveMs), held: Math.round(setupHeldMs) },
    };
    summary.ok = lost === 0 && unacked === 0 && dup === 0 && dupAcks === 0 && reordered === 0
        && seqMismatch === 0 && disconnects === 0 && idleFrames === 0;
    console.log(JSON.stringify({ summary }));
    process.exit(summary.ok ? 0 : 2);
}

if (process.argv[2] === '--holder') holderMain();
else main().catch((e) => fail(e.message));
