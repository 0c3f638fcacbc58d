#!/usr/bin/env node
// Server benchmark: `parley server` against a minimal Node.js relay (relay.js), side by
// side in one run, under the same open-loop load (loadgen.js).
//
//   node bench.js [--scenario held|rate|smoke] [--held N] [--active N] [--rate R]
//                 [--seconds S] [--rounds N] [--parley PATH] [--threads N]
//                 [--engines parley,baseline] [--rates R1,R2,...] [--p99-limit MS]
//                 [--parley-before PATH]
//                 [--drain S] [--data-root DIR] [--json FILE] [--no-pin] [--keep]
//                 [--seed-dir DIR] [--tls]
//
// Scenarios (each flag overrides the scenario's default):
//   held   10,000 idle authenticated connections + 1,000 active users, 1,000 msgs/s for 30 s.
//          Reports latency, the server's resident memory per held connection and its CPU
//          seconds in the send window.
//   rate   1,000 active users, no held connections: steps up the rate (10 s per step) and
//          reports the highest rate at which each engine delivers with p99 < --p99-limit
//          (50 ms) and nothing lost. An engine stops climbing after its first failed step.
//   smoke  50 held + 20 active, 50 msgs/s for 3 s, one round: a correctness check (the ctest
//          bench_baseline_smoke). It fails on anything lost, duplicated or reordered, never
//          on latency.
//
// Engines: parley (--parley), baseline (relay.js) and, with --parley-before PATH, before: a
// second parley binary (an older build, or a wrapper script that sets PARLEY_* variables)
// run the same way, so that a change is measured against its predecessor in the same run
// (--engines before,parley,baseline). Each parley binary gets its own seed.
//
// Runs alternate engines, A B A B ..., each on a fresh server: parley with a fresh data
// directory (a copy of one seeded once with the users, so no run pays for argon2
// registrations; --seed-dir keeps that seed for later invocations with the same parley
// binary and no more users), the relay with empty memory. The server is pinned to CPU 0
// and the load generator to CPU 1 (taskset), and both get the hard limit of open files.
//
// --tls: parley serves wss:// with a self-signed certificate made for the run (openssl,
// P-256), so the memory and CPU of TLS connections are measured too. parley engines only:
// the relay has no TLS (--engines parley or before,parley).
//
// parley runs with --threads 1 by default (it has one pinned core, like the single-threaded
// relay) and with every per-connection rate limit raised out of the way:
// --send-burst/--send-rate/--frame-burst/--frame-rate 1000000. The sign-in limit (burst 10
// per connection) is fixed, and each connection signs in once.
//
// Exit status: 0 when every run verified; 2 when a run lost, duplicated or reordered
// something, or a connection dropped (held and smoke; in rate, a step that loses messages is
// that engine's limit, a result); 1 when a run could not be set up. Latency never fails.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const here = __dirname;
const repoRoot = path.resolve(here, '../../..');

const Scenarios = {
    held: { held: 10000, active: 1000, rate: 1000, seconds: 30, rounds: 3 },
    rate: { held: 0, active: 1000, seconds: 10, rounds: 3,
        rates: [1000, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 20000, 30000] },
    smoke: { held: 50, active: 20, rate: 50, seconds: 3, rounds: 1 },
};
// Raised so that parley's per-connection limits never decide a run (see the top comment).
const ParleyLimitFlags = ['--send-burst', '1000000', '--send-rate', '1000000',
    '--frame-burst', '1000000', '--frame-rate', '1000000'];
const StartTimeoutMs = 30000;

// ---- options ---------------------------------------------------------------------------
function usage(message) {
    console.error(`bench: ${message}\nusage: see the comment at the top of ${path.relative(process.cwd(), __filename)}`);
    process.exit(1);
}

function parseArgs(argv) {
    const o = { scenario: 'held', parley: path.join(repoRoot, 'build/default/app/parley'), threads: 1,
        engines: ['parley', 'baseline'], p99Limit: 50, drain: 10, dataRoot: os.tmpdir(), pin: true };
    const given = {};
    for (let i = 0; i < argv.length; ++i) {
        const a = argv[i];
        const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
        const num = () => {
            const n = Number(value());
            return Number.isFinite(n) && n >= 0 ? n : usage(`${a} needs a non-negative number`);
        };
        switch (a) {
        case '--scenario': o.scenario = value(); break;
        case '--held': given.held = num(); break;
        case '--active': given.active = num(); break;
        case '--rate': given.rate = num(); break;
        case '--seconds': given.seconds = num(); break;
        case '--rounds': given.rounds = Math.max(1, num()); break;
        case '--rates': given.rates = value().split(',').map(Number); break;
        case '--parley': o.parley = path.resolve(value()); break;
        case '--parley-before': o.parleyBefore = path.resolve(value()); break;
        case '--threads': o.threads = num(); break;
        case '--engines': o.engines = value().split(','); break;
        case '--p99-limit': o.p99Limit = num(); break;
        case '--drain': o.drain = num(); break;
        case '--data-root': o.dataRoot = path.resolve(value()); break;
        case '--json': o.json = path.resolve(value()); break;
        case '--seed-dir': o.seedDir = path.resolve(value()); break;
        case '--no-pin': o.pin = false; break;
        case '--keep': o.keep = true; break;
        case '--tls': o.tls = true; break;
        case '-h': case '--help':
            console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1)
                .filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n').split("'use strict'")[0]);
            process.exit(0);
            break;
        default: usage(`unknown option ${a}`);
        }
    }
    if (!Scenarios[o.scenario]) usage(`--scenario is held, rate or smoke, not '${o.scenario}'`);
    Object.assign(o, Scenarios[o.scenario], given);
    if (o.engines.some((e) => !['parley', 'before', 'baseline'].includes(e)))
        usage('--engines takes parley, before (with --parley-before) and/or baseline');
    if (o.engines.includes('before') && !o.parleyBefore) usage('the engine before needs --parley-before PATH');
    if (o.rates?.some((r) => !(r > 0))) usage('--rates takes positive numbers');
    if (o.tls && o.engines.includes('baseline')) usage('--tls measures parley only: add --engines parley');
    return o;
}

// ---- processes -------------------------------------------------------------------------
let pinning = true;

// The command with the hard limit of open files, pinned to `cpu` when pinning is on. The
// shell and taskset exec, so the child's pid is the program's own (for /proc sampling).
function command(cpu, program, args) {
    const raised = ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', program, ...args];
    return pinning ? ['taskset', '-c', String(cpu), ...raised] : raised;
}

function lines(stream, onLine) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

function exited(proc, ms) {
    return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true);
        const timer = setTimeout(() => resolve(false), ms);
        proc.once('exit', () => {
            clearTimeout(timer);
            resolve(true);
        });
    });
}

const isParley = (engine) => engine !== 'baseline';
const binaryOf = (engine, opts) => (engine === 'before' ? opts.parleyBefore : opts.parley);

// Starts one engine's server on a free loopback port (port 0: the server picks and prints it).
async function startServer(engine, dataDir, logFile, opts) {
    const tls = opts.tls ? ['--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key] : [];
    const [program, ...args] = isParley(engine)
        ? command(0, binaryOf(engine, opts), ['server', '--listen', '127.0.0.1:0', '--data-dir', dataDir,
            '--threads', String(opts.threads), '--log-format', 'json', '--drain-timeout', '2',
            ...ParleyLimitFlags, ...tls])
        : command(0, process.execPath, [path.join(here, 'relay.js'), '0']);
    // parley reads PARLEY_* and REDIS_URL from the environment: none of the caller's may leak in.
    const env = Object.fromEntries(Object.entries(process.env)
        .filter(([k]) => !k.startsWith('PARLEY_') && k !== 'REDIS_URL' && k !== 'QT_LOGGING_RULES'));
    const log = fs.openSync(logFile, 'a');
    const proc = spawn(program, args, { stdio: ['ignore', 'pipe', log], env });
    fs.closeSync(log);
    const url = await new Promise((resolve, reject) => {
        const timer = setTimeout(
            () => reject(new Error(`${engine} did not start in ${StartTimeoutMs / 1000} s`)), StartTimeoutMs);
        lines(proc.stdout, (line) => {
            fs.appendFileSync(logFile, `${line}\n`);
            const m = /listening on (wss?:\/\/127\.0\.0\.1:\d+\/ws)/.exec(line);
            if (m) {
                clearTimeout(timer);
                resolve(m[1]);
            }
        });
        proc.once('exit', (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`${engine} exited (${code ?? signal}) before listening; see ${logFile}`));
        });
    });
    return { proc, url, pid: proc.pid };
}

async function stopServer(server) {
    server.proc.kill('SIGTERM');
    if (!(await exited(server.proc, 15000))) {
        server.proc.kill('SIGKILL');
        await exited(server.proc, 5000);
    }
}

// Runs loadgen.js against `url`; `onPhase(name)` is awaited at each phase before the
// generator goes on. Resolves with its summary (or {error}).
function runLoadgen(url, args, label, onPhase, watchdogMs) {
    const [program, ...rest] = command(1, process.execPath,
        [path.join(here, 'loadgen.js'), '--url', url, '--sync', ...args]);
    const proc = spawn(program, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
    let result = null;
    let queue = Promise.resolve();
    lines(proc.stderr, (line) => console.error(`  [${label}] ${line}`));
    lines(proc.stdout, (line) => {
        let frame;
        try {
            frame = JSON.parse(line);
        } catch {
            return console.error(`  [${label}] ${line}`);
        }
        if (frame.phase) {
            queue = queue.then(() => onPhase(frame.phase)).catch(() => {}).then(() => proc.stdin.write('\n'));
        } else result = frame;
    });
    proc.stdin.on('error', () => {}); // the generator may exit while we answer a phase
    return new Promise((resolve) => {
        const watchdog = setTimeout(() => {
            result = { error: `loadgen did not finish in ${Math.round(watchdogMs / 1000)} s` };
            proc.kill('SIGKILL');
        }, watchdogMs);
        proc.on('exit', async () => {
            clearTimeout(watchdog);
            await queue;
            resolve(result ?? { error: 'loadgen exited without a summary' });
        });
    });
}

// ---- /proc sampling --------------------------------------------------------------------
function readProc(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch {
        return '';
    }
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// Both NaN when the server is gone.
function residentKiB(pid) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readProc(`/proc/${pid}/status`));
    return m ? Number(m[1]) : NaN;
}

// utime + stime of the whole process (all threads), in seconds.
function cpuSeconds(pid) {
    const stat = readProc(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

// The server's log lines at warning level and above (parley's JSON log; anything the relay
// prints), counted, with the first few kept: those of the run (up to byte `runEnd` of the
// log) apart from those of the shutdown after it.
function serverProblems(engine, logFile, runEnd) {
    const log = fs.readFileSync(logFile);
    return { run: problemLines(engine, log.subarray(0, runEnd)), shutdown: problemLines(engine, log.subarray(runEnd)) };
}

function problemLines(engine, bytes) {
    const problems = { count: 0, first: [] };
    for (const line of bytes.toString('utf8').split('\n')) {
        if (/listening on ws:/.test(line)) continue; // the start line both engines print on stdout
        let level = null;
        let text = line;
        if (engine === 'parley') {
            try {
                const e = JSON.parse(line);
                level = e.level;
                text = `${e.level} ${e.category}: ${e.msg}`;
            } catch {
                level = line.trim() ? 'unparsed' : null;
            }
        } else if (line.trim()) level = 'stderr';
        if (level && !['info', 'debug'].includes(level)) {
            ++problems.count;
            if (problems.first.length < 5) problems.first.push(text.slice(0, 300));
        }
    }
    return problems;
}

// ---- one run ---------------------------------------------------------------------------
async function runOnce(engine, shape, opts, work, label) {
    const runDir = fs.mkdtempSync(path.join(work, `${engine}-`));
    const dataDir = path.join(runDir, 'data');
    if (isParley(engine)) fs.cpSync(opts.seeds[engine].dataDir, dataDir, { recursive: true });
    const logFile = path.join(runDir, 'server.log');
    const run = { engine, rate: shape.rate, held: shape.held, active: shape.active, seconds: shape.seconds };
    let server;
    try {
        server = await startServer(engine, dataDir, logFile, opts);
    } catch (e) {
        return { ...run, error: e.message };
    }
    const samples = {};
    const args = ['--active', shape.active, '--held', shape.held, '--rate', shape.rate,
        '--seconds', shape.seconds, '--drain', opts.drain].map(String);
    if (isParley(engine)) args.push('--tokens', opts.seeds[engine].tokens);
    const summary = await runLoadgen(server.url, args, label, async (phase) => {
        samples[phase] = { rssKiB: residentKiB(server.pid), cpuS: cpuSeconds(server.pid),
            logBytes: fs.statSync(logFile).size };
    }, (shape.seconds + opts.drain + 900) * 1000);
    const alive = server.proc.exitCode === null && server.proc.signalCode === null;
    await stopServer(server);
    Object.assign(run, summary.summary ?? { error: summary.error }, { serverExitedEarly: !alive });
    const s = samples;
    if (s['before-held'] && s['held-ready']) {
        run.rssBeforeHeldKiB = s['before-held'].rssKiB;
        run.rssHeldKiB = s['held-ready'].rssKiB;
        run.kibPerHeld = shape.held ? (s['held-ready'].rssKiB - s['before-held'].rssKiB) / shape.held : null;
    }
    if (s['send-start'] && s['send-end']) run.cpuSendS = s['send-end'].cpuS - s['send-start'].cpuS;
    if (s['send-start'] && s.drained) run.cpuToDrainS = s.drained.cpuS - s['send-start'].cpuS;
    if (s.drained) run.rssEndKiB = s.drained.rssKiB;
    run.serverProblems = serverProblems(engine, logFile, s.drained?.logBytes ?? Infinity);
    if (!opts.keep && !run.error && (run.ok || opts.scenario === 'rate'))
        fs.rmSync(runDir, { recursive: true, force: true });
    else run.runDir = runDir;
    return run;
}

// parley's users are registered once (argon2 makes that slow) into a data dir every run copies.
async function seedParley(engine, opts, work) {
    const seedDir = path.join(opts.seedDir ?? path.join(work, 'seed'), engine === 'before' ? 'before' : '.');
    const seed = { dataDir: path.join(seedDir, 'data'), tokens: path.join(seedDir, 'tokens.json') };
    if (fs.existsSync(seed.tokens)) {
        const saved = JSON.parse(fs.readFileSync(seed.tokens, 'utf8'));
        if (saved.active >= opts.active && saved.idleUsers >= Math.min(100, opts.held)) {
            console.error(`bench: reusing the parley seed in ${seedDir}`);
            return seed;
        }
        fs.rmSync(seedDir, { recursive: true, force: true });
    }
    fs.mkdirSync(seed.dataDir, { recursive: true });
    const logFile = path.join(seedDir, 'server.log');
    const started = Date.now();
    const server = await startServer(engine, seed.dataDir, logFile, opts);
    const summary = await runLoadgen(server.url, ['--active', String(opts.active), '--held', String(opts.held),
        '--tokens', seed.tokens, '--setup-only'], 'seed', async () => {}, 1800 * 1000);
    await stopServer(server);
    if (summary.error || !fs.existsSync(seed.tokens)) throw new Error(`seeding parley failed: ${summary.error}; see ${logFile}`);
    console.error(`bench: parley seeded with ${opts.active} active and ${Math.min(100, opts.held)} idle users ` +
        `in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return seed;
}

// ---- reporting -------------------------------------------------------------------------
const median = (xs) => {
    const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return null;
    const mid = v.length >> 1;
    return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};
const fmt = (v, digits = 2) => (v === null || v === undefined ? '-' : Number(v).toFixed(digits));
const problemsOf = (r) => r.error ? `error: ${r.error}` : ['lost', 'unacked', 'dup', 'dupAcks', 'reordered',
    'seqMismatch', 'disconnects', 'idleFrames'].filter((k) => r[k]).map((k) => `${k} ${r[k]}`).join(', ');

// One run on one line, with whatever explains its tail or its failure.
function runLine(r) {
    if (r.error) return `${r.engine}: ERROR ${r.error}`;
    const { deliverMs: d, serverProblems: logged } = r;
    const parts = [`${r.engine}: deliver p50 ${fmt(d.p50)} p99 ${fmt(d.p99)} max ${fmt(d.max)} ms,`,
        `ack p99 ${fmt(r.ackMs.p99)} ms, ${r.delivered}/${r.sent} delivered at ${r.achievedRate}/s,`,
        ...(r.held ? [`${fmt(r.kibPerHeld)} KiB/held conn,`] : []),
        `cpu ${fmt(r.cpuSendS)} s, generator lag p99 ${fmt(r.scheduleLagMs.p99)} ms`];
    if (!r.ok) parts.push(` << ${problemsOf(r)}`);
    if (r.lostSample?.length) parts.push(`; first lost: ${JSON.stringify(r.lostSample[0])}`);
    if (r.slowestSeconds?.length)
        parts.push(` [slowest seconds (s/max ms/msgs > 50 ms): ${r.slowestSeconds.map((e) => e.join('/')).join(' ')}]`);
    if (r.generatorStalls?.length)
        parts.push(` [generator stalled ${r.generatorStalls.map(([at, ms]) => `${ms} ms at ${at} s`).join(', ')}]`);
    if (logged.run.count) parts.push(` [${logged.run.count} server warnings in the run; first: ${logged.run.first[0]}]`);
    if (logged.shutdown.count) parts.push(` [${logged.shutdown.count} at shutdown; first: ${logged.shutdown.first[0]}]`);
    return parts.join(' ');
}

// The ratios shown: parley/baseline, parley/before, or the first engine over the second.
function ratios(engines) {
    const pairs = [['parley', 'baseline'], ['parley', 'before']].filter(([a, b]) => engines.includes(a) && engines.includes(b));
    return pairs.length || engines.length !== 2 ? pairs : [engines];
}

function table(rows, engines) {
    const pairs = ratios(engines);
    const head = ['', ...engines, ...pairs.map(([a, b]) => `${a}/${b}`)];
    const body = rows.map(([name, pick, digits]) => {
        const values = engines.map(pick);
        const value = (e) => values[engines.indexOf(e)];
        const ratio = ([a, b]) => (value(a) !== null && value(b) ? value(a) / value(b) : null);
        return [name, ...values.map((v) => fmt(v, digits)), ...pairs.map((p) => fmt(ratio(p)))];
    });
    const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => String(r[i]).length)));
    const line = (r) => r.map((c, i) => (i ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ');
    return [line(head), ...body.map(line)].join('\n');
}

function summariseFixed(runs, opts) {
    const by = (engine) => runs.filter((r) => r.engine === engine && !r.error);
    const med = (f) => (engine) => median(by(engine).map(f));
    const sum = (f) => (engine) => runs.filter((r) => r.engine === engine).reduce((a, r) => a + (f(r) ?? 0), 0);
    const rows = [
        ['deliver p50 ms', med((r) => r.deliverMs.p50)],
        ['deliver p90 ms', med((r) => r.deliverMs.p90)],
        ['deliver p99 ms', med((r) => r.deliverMs.p99)],
        ['deliver max ms', med((r) => r.deliverMs.max)],
        ['ack p50 ms', med((r) => r.ackMs.p50)],
        ['ack p99 ms', med((r) => r.ackMs.p99)],
        ['ack max ms', med((r) => r.ackMs.max)],
        ['achieved msgs/s', med((r) => r.achievedRate), 0],
        ['server cpu s (send window)', med((r) => r.cpuSendS)],
        ['server cpu s (to drained)', med((r) => r.cpuToDrainS)],
        ['server RSS before held MiB', med((r) => r.rssBeforeHeldKiB / 1024), 1],
        ['server RSS end MiB', med((r) => r.rssEndKiB / 1024), 1],
        ...(opts.held ? [['server KiB per held conn', med((r) => r.kibPerHeld)]] : []),
        ['generator lag p99 ms', med((r) => r.scheduleLagMs.p99)],
        ['runs failed (sum)', sum((r) => (r.ok ? 0 : 1)), 0],
        ['lost (sum)', sum((r) => r.lost), 0],
        ['dup (sum)', sum((r) => r.dup + (r.dupAcks ?? 0)), 0],
        ['reordered (sum)', sum((r) => r.reordered), 0],
        ['disconnects (sum)', sum((r) => r.disconnects), 0],
    ];
    return table(rows.map(([n, f, d]) => [n, f, d ?? 2]), opts.engines);
}

// ---- scenarios -------------------------------------------------------------------------
function header(opts, extra) {
    const fsType = (() => {
        try {
            return execFileSync('df', ['--output=fstype', opts.dataRoot]).toString().split('\n')[1].trim();
        } catch {
            return '?';
        }
    })();
    const ws = require(path.join(here, 'node_modules/ws/package.json')).version;
    return [`scenario ${opts.scenario}: ${extra}; ${opts.rounds} round(s) per engine, engines alternating`,
        ...opts.engines.filter(isParley).map((e) =>
            `${e}: ${binaryOf(e, opts)} --threads ${opts.threads} ${ParleyLimitFlags.join(' ')}`
                + `${opts.tls ? ' --tls-cert/--tls-key (wss://, self-signed P-256)' : ''}; data dir on ${fsType}`),
        ...(opts.engines.includes('baseline') ? [`baseline: node ${process.version} relay.js (ws ${ws})`] : []),
        `load generator: node ${process.version} loadgen.js (ws ${ws})`,
        `pinning: ${pinning ? 'server on CPU 0, load generator on CPU 1' : 'off'}; figures are medians over rounds`].join('\n');
}

async function fixedScenario(opts, work) {
    const shape = { held: opts.held, active: opts.active, rate: opts.rate, seconds: opts.seconds };
    const runs = [];
    for (let round = 1; round <= opts.rounds; ++round) {
        for (const engine of opts.engines) {
            const run = await runOnce(engine, shape, opts, work, `${engine} ${round}/${opts.rounds}`);
            run.round = round;
            console.error(`bench: round ${round}/${opts.rounds} ${runLine(run)}`);
            runs.push(run);
        }
    }
    console.log(header(opts, `${opts.held} held + ${opts.active} active, ${opts.rate} msgs/s for ${opts.seconds} s`));
    console.log(summariseFixed(runs, opts));
    const bad = runs.filter((r) => r.error || !r.ok).length;
    console.log(bad
        ? `FAILED: ${bad} of ${runs.length} runs lost, duplicated or reordered messages, dropped a connection or did not run`
        : `verified: nothing lost, duplicated or reordered in ${runs.length} runs`);
    return runs;
}

async function rateScenario(opts, work) {
    const runs = [];
    const best = Object.fromEntries(opts.engines.map((e) => [e, null]));
    const climbing = new Set(opts.engines);
    const generatorBound = new Set();
    const steps = [];
    for (const rate of opts.rates) {
        if (!climbing.size) break;
        const shape = { held: opts.held, active: opts.active, rate, seconds: opts.seconds };
        const stepRuns = [];
        for (let round = 1; round <= opts.rounds; ++round) {
            for (const engine of opts.engines.filter((e) => climbing.has(e))) {
                const run = await runOnce(engine, shape, opts, work, `${engine} ${rate}/s ${round}/${opts.rounds}`);
                run.round = round;
                console.error(`bench: ${rate}/s round ${round}/${opts.rounds} ${runLine(run)}`);
                stepRuns.push(run);
            }
        }
        const step = { rate };
        for (const engine of [...climbing]) {
            const mine = stepRuns.filter((r) => r.engine === engine);
            const p99 = median(mine.map((r) => r.deliverMs?.p99));
            const pass = mine.every((r) => !r.error && r.ok) && p99 !== null && p99 < opts.p99Limit;
            const lag = median(mine.map((r) => r.scheduleLagMs?.p99));
            const cpu = median(mine.map((r) => r.cpuSendS / r.seconds));
            step[engine] = { p99, pass, lag, cpu, problems: mine.map(problemsOf).filter(Boolean).join('; ') };
            if (pass) best[engine] = rate;
            else {
                climbing.delete(engine);
                // The generator sent late by half the latency budget or more: this step
                // measured the generator (one core) as much as the server.
                if (lag !== null && lag > opts.p99Limit / 2) generatorBound.add(engine);
            }
        }
        steps.push(step);
        runs.push(...stepRuns);
    }
    console.log(header(opts, `${opts.active} active users, rates ${opts.rates.join(', ')} msgs/s for ${opts.seconds} s each, ` +
        `pass = nothing lost and deliver p99 < ${opts.p99Limit} ms`));
    // The generator's own lag is shown: when it nears the limit, the step measured the
    // generator as much as the server.
    const cell = (s) => (!s ? '-'
        : `p99 ${fmt(s.p99)} ms ${s.pass ? 'pass' : 'FAIL'} ` +
          `(server cpu ${fmt(100 * s.cpu, 0)}%, generator lag p99 ${fmt(s.lag, 1)} ms)` +
          (s.problems ? ` [${s.problems}]` : ''));
    const grid = [['msgs/s', ...opts.engines],
        ...steps.map((s) => [String(s.rate), ...opts.engines.map((e) => cell(s[e]))])];
    const widths = grid[0].map((_, i) => Math.max(...grid.map((r) => r[i].length)));
    for (const row of grid)
        console.log(row.map((c, i) => (i ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ').trimEnd());
    const ratio = ratios(opts.engines).filter(([, b]) => best[b])
        .map(([a, b]) => ` (${a}/${b} ${fmt((best[a] ?? 0) / best[b])})`).join('');
    console.log(`highest passing rate: ${opts.engines.map((e) => `${e} ${best[e] ?? 'none'}`).join(', ')}${ratio}`);
    for (const e of generatorBound)
        console.log(`note: ${e} failed where the load generator itself lagged (p99 > ${opts.p99Limit / 2} ms): ` +
            (best[e] ? `its limit is at least ${best[e]}, maybe more` : 'its limit was not measured'));
    const top = opts.rates[opts.rates.length - 1];
    for (const e of opts.engines)
        if (best[e] === top) console.log(`note: ${e} passed the highest step; raise --rates to find its limit`);
    return runs;
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    try {
        require.resolve('ws', { paths: [here] });
    } catch {
        usage(`${here}/node_modules is missing: run scripts/bench-server.sh, or npm ci --prefix ${path.relative(process.cwd(), here) || '.'}`);
    }
    for (const e of opts.engines.filter(isParley)) {
        if (!fs.existsSync(binaryOf(e, opts))) usage(`no parley binary at ${binaryOf(e, opts)} (--parley/--parley-before PATH)`);
    }
    const need = opts.held + opts.active + 200;
    const hard = Number(execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim());
    if (Number.isFinite(hard) && hard < need) usage(`this run needs about ${need} open files per process; the hard limit is ${hard}`);
    pinning = opts.pin && os.cpus().length >= 2;
    if (pinning) {
        try {
            execFileSync('taskset', ['-c', '0', 'true']);
        } catch {
            console.error('bench: taskset is not usable here; running unpinned');
            pinning = false;
        }
    } else if (opts.pin) console.error('bench: fewer than 2 CPUs; running unpinned');

    const work = fs.mkdtempSync(path.join(opts.dataRoot, 'parley-bench-'));
    let runs = [];
    let setupFailed = false;
    try {
        if (opts.tls) {
            const tls = { cert: path.join(work, 'cert.pem'), key: path.join(work, 'key.pem') };
            execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                '-keyout', tls.key, '-out', tls.cert], { stdio: 'ignore' });
            opts.tls = tls;
        }
        opts.seeds = {};
        for (const e of opts.engines.filter(isParley)) opts.seeds[e] = await seedParley(e, opts, work);
        runs = opts.scenario === 'rate' ? await rateScenario(opts, work) : await fixedScenario(opts, work);
    } catch (e) {
        console.error(`bench: ${e.message}`);
        setupFailed = true;
    }
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ options: { ...opts, seeds: undefined }, runs }, null, 1));
    // In the rate scenario a step that loses messages is a result (the engine's limit), not a failure.
    const failed = runs.filter((r) => r.error || (!r.ok && opts.scenario !== 'rate'));
    for (const r of failed)
        console.error(`bench: FAILED ${r.engine} at ${r.rate}/s round ${r.round}: ${problemsOf(r)}; kept ${r.runDir}`);
    if (!failed.length && !setupFailed) fs.rmSync(work, { recursive: true, force: true });
    else console.error(`bench: kept ${work}`);
    process.exit(setupFailed || runs.some((r) => r.error) ? 1 : failed.length ? 2 : 0);
}

main();
