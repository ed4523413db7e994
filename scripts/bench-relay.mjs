// `npm run bench` (second part): what `dify plugin run` costs as a relay between a plugin and the
// daemon. A bench daemon (scripts/bench/daemon.mjs, in this process) and a bench plugin
// (scripts/bench/plugin.mjs, started by the CLI through a --python launcher) talk through the built
// CLI, and, as the baseline, directly over TCP (the plugin's "direct" mode). Measures:
//   1. throughput of 1 KB session `stream` messages, plugin → daemon, CLI vs direct;
//   2. request → response round trips, CLI vs direct, and the p99 the CLI adds;
//   3. the CLI process's peak RSS while 1 GiB streams through it.
// Environment: BENCH_RELAY_MESSAGES (200000), BENCH_RELAY_ROUNDS (3), BENCH_RELAY_ROUNDTRIPS (5000),
// BENCH_RELAY_MEMORY_MESSAGES (1048576), BENCH_RELAY_PAYLOAD (1024).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startDaemon } from './bench/daemon.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dify.js');
const pluginScript = path.join(root, 'scripts', 'bench', 'plugin.mjs');
const example = path.join(root, 'examples', 'hello-world');

const intEnv = (name, fallback) => {
  const n = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};
const MESSAGES = intEnv('BENCH_RELAY_MESSAGES', 200_000);
const ROUNDS = intEnv('BENCH_RELAY_ROUNDS', 3);
const ROUND_TRIPS = intEnv('BENCH_RELAY_ROUNDTRIPS', 5_000);
const MEMORY_MESSAGES = intEnv('BENCH_RELAY_MEMORY_MESSAGES', 1_048_576);
const PAYLOAD = intEnv('BENCH_RELAY_PAYLOAD', 1024);
const WARMUP_MESSAGES = Math.min(100_000, MESSAGES);
const WARMUP_ROUND_TRIPS = Math.min(1000, ROUND_TRIPS);

const TARGET_MSGS = 20_000;
const TARGET_ADDED_P99_MS = 2;
const TARGET_RSS_MB = 120;
const MB = 1_000_000; // decimal megabytes: the stricter reading of the 120 MB target

const KEY = randomUUID();
const started = performance.now();
/** BENCH_RELAY_DEBUG=1: phase timings on stderr. */
const debug = (text) =>
  process.env.BENCH_RELAY_DEBUG &&
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(2)} s] ${text}\n`);

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed at the end, whatever happens.

const children = new Set(); // { name, child, logs: string[], expected: boolean, pluginPid?: number }
let failNow;
const fatal = new Promise((_, reject) => (failNow = reject));
fatal.catch(() => undefined);

function track(name, child, logs) {
  const proc = {
    name,
    child,
    logs,
    expected: false,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  children.add(proc);
  child.once('error', (err) => failNow(new Error(`${name}: ${err.message}`)));
  void proc.exited.then(({ code, signal }) => {
    if (!proc.expected) failNow(new Error(`${name} exited unexpectedly (${signal ?? `code ${code}`})${tails(proc)}`));
  });
  return proc;
}

function tails(proc) {
  const text = proc.logs
    .map((file) => {
      try {
        const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15);
        return lines.length && lines[0] ? `\n--- ${path.basename(file)} (last lines) ---\n${lines.join('\n')}` : '';
      } catch {
        return '';
      }
    })
    .join('');
  return text;
}

/** Resolves or rejects with `promise`, but fails after `ms` or as soon as a child dies. */
async function guard(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, fatal, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const alive = (pid) => {
  try {
    return !/^\S+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); // a zombie is gone too
  } catch {
    return false;
  }
};
const isBenchPlugin = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(pluginScript);
  } catch {
    return false;
  }
};

/** The plugin process the CLI started (its direct child: the launcher execs node). */
function childOf(ppid) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid && isBenchPlugin(Number(entry))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM). */
function procBytes(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** user + system CPU seconds of a process so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
function machineBusySeconds() {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * How busy the machine was with other work during a phase: CPUs used on average by processes
 * other than this benchmark's own. Other load disturbs latency tails above all.
 */
function loadMeter(pids) {
  const mine = () => pids().reduce((sum, pid) => sum + (alive(pid) ? cpuSeconds(pid) : 0), 0);
  const wall0 = performance.now();
  const busy0 = machineBusySeconds();
  const mine0 = mine();
  return () => {
    const seconds = (performance.now() - wall0) / 1000;
    return Math.max(0, (machineBusySeconds() - busy0 - (mine() - mine0)) / seconds);
  };
}

async function stopProcess(proc, signal = 'SIGTERM', graceMs = 10_000) {
  proc.expected = true;
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill(signal);
    let timer;
    const done = await Promise.race([proc.exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    if (!done) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
  // The CLI stops its plugin itself; make sure of it (the plugin also exits once orphaned).
  if (proc.pluginPid !== undefined) {
    for (let i = 0; i < 40 && alive(proc.pluginPid); i++) await sleep(50);
    if (alive(proc.pluginPid) && isBenchPlugin(proc.pluginPid)) {
      proc.leftover = true;
      try {
        process.kill(-proc.pluginPid, 'SIGKILL');
      } catch {
        process.kill(proc.pluginPid, 'SIGKILL');
      }
    }
  }
  children.delete(proc);
  return proc.exited;
}

function killAllNow() {
  for (const proc of children) {
    proc.expected = true;
    try {
      proc.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    if (proc.pluginPid !== undefined && alive(proc.pluginPid) && isBenchPlugin(proc.pluginPid)) {
      try {
        process.kill(-proc.pluginPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}
process.on('exit', killAllNow);
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    interrupted = true;
    failNow(new Error(`interrupted by ${signal}`));
    setTimeout(() => process.exit(130), 2_000).unref();
  });
}

// ---------------------------------------------------------------------------------------------
// Set-up

if (!existsSync(path.join(root, 'dist', 'dify.cjs'))) {
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

const work = mkdtempSync(path.join(tmpdir(), 'dify-bench-relay-'));
const pluginDir = path.join(work, 'hello-world');
cpSync(example, pluginDir, { recursive: true });
const launcher = path.join(work, 'python');
const q = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
writeFileSync(
  launcher,
  `#!/bin/sh\n# --python for the relay benchmark: ignores \`-m main\`, runs the bench plugin.\nexec ${q(process.execPath)} ${q(pluginScript)}\n`,
  { mode: 0o755 },
);

const daemon = await startDaemon({ key: KEY });
const address = `127.0.0.1:${daemon.port}`;
let cliCount = 0;

/** Starts `dify plugin run` and waits until a request has gone through it. */
async function startCli() {
  const name = `cli-${++cliCount}`;
  const logs = [path.join(work, `${name}.stdout`), path.join(work, `${name}.stderr`)];
  const [out, err] = logs.map((file) => openSync(file, 'w'));
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  const child = spawn(
    process.execPath,
    [bin, 'plugin', 'run', pluginDir, '--url', address, '--key', KEY, '--python', launcher],
    { cwd: work, env, stdio: ['ignore', out, err] },
  );
  closeSync(out);
  closeSync(err);
  const proc = track(`the CLI (${name})`, child, logs);
  proc.connection = await guard(daemon.nextRegistered(), 30_000, `${name} to register`);
  await guard(proc.connection.roundTrip(), 30_000, `a first request through ${name}`);
  proc.pluginPid = childOf(child.pid);
  if (proc.pluginPid === undefined) throw new Error(`${name}: cannot find the plugin process it started`);
  return proc;
}

/** Starts the bench plugin connected straight to the daemon. */
async function startDirect() {
  const logs = [path.join(work, 'direct.stderr')];
  const err = openSync(logs[0], 'w');
  const child = spawn(process.execPath, [pluginScript, '--direct', address, '--key', KEY], {
    cwd: pluginDir,
    stdio: ['ignore', 'ignore', err],
  });
  closeSync(err);
  const proc = track('the direct plugin', child, logs);
  proc.connection = await guard(daemon.nextRegistered(), 30_000, 'the direct plugin to register');
  await guard(proc.connection.roundTrip(), 30_000, 'a first direct request');
  return proc;
}

const streamTimeout = (count) => 30_000 + count / 2; // 2,000 msg/s at worst

async function throughput(proc, count) {
  const r = await guard(
    proc.connection.stream(count, PAYLOAD),
    streamTimeout(count),
    `${count} stream messages from ${proc.name}`,
  );
  return { rate: count / (r.ms / 1000), ms: r.ms };
}

/**
 * `n` round trips through each of `a` and `b`, alternating one by one (who goes first alternates
 * too), so that both see the same machine noise; milliseconds each.
 */
async function roundTrips(a, b, n) {
  const run = async () => {
    const times = [[], []];
    for (let i = 0; i < n; i++) {
      const first = i % 2;
      times[first].push(await (first === 0 ? a : b).connection.roundTrip());
      times[1 - first].push(await (first === 0 ? b : a).connection.roundTrip());
    }
    return times;
  };
  return guard(run(), 30_000 + n * 20, `${n} round trips through ${a.name} and ${b.name}`);
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const int = (n) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// Run

const notes = [];
let exitCode = 0;
try {
  // 1 + 2: one CLI and one direct plugin, both connected; measured in alternation so that both
  // see the same machine load.
  const cli = await startCli();
  debug('cli-1 ready');
  const direct = await startDirect();
  debug('direct ready');
  const ours =
    (...procs) =>
    () => [process.pid, ...procs.flatMap((p) => [p.child.pid, p.pluginPid].filter((pid) => pid !== undefined))];
  await throughput(cli, WARMUP_MESSAGES);
  await throughput(direct, WARMUP_MESSAGES);
  const otherLoad = {};
  let meter = loadMeter(ours(cli, direct));
  const rates = { cli: [], direct: [] };
  let cliCpu = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['cli', 'direct'] : ['direct', 'cli'];
    for (const which of order) {
      const proc = which === 'cli' ? cli : direct;
      const cpu0 = which === 'cli' ? cpuSeconds(cli.child.pid) : 0;
      rates[which].push((await throughput(proc, MESSAGES)).rate);
      if (which === 'cli') cliCpu += cpuSeconds(cli.child.pid) - cpu0;
    }
  }

  otherLoad.throughput = meter();
  debug('throughput done');
  await roundTrips(cli, direct, WARMUP_ROUND_TRIPS);
  meter = loadMeter(ours(cli, direct));
  const [rttCli, rttDirect] = await roundTrips(cli, direct, ROUND_TRIPS);
  otherLoad.latency = meter();
  const rtt = { cli: rttCli, direct: rttDirect };
  debug('round trips done');
  const problems12 = [...cli.connection.problems, ...direct.connection.problems];
  await stopProcess(direct);
  const cliExit1 = await stopProcess(cli);
  if (cliExit1.code !== 0) notes.push(`cli-1 exited with ${cliExit1.signal ?? `code ${cliExit1.code}`} after SIGTERM`);

  // 3: a fresh CLI, so that its peak RSS is that of this stream alone (plus its start-up).
  debug('cli-1 and direct stopped');
  const mem = await startCli();
  debug('cli-2 ready');
  const pid = mem.child.pid;
  const rssBefore = procBytes(pid, 'VmRSS');
  let polledMax = rssBefore;
  const poll = setInterval(() => {
    try {
      polledMax = Math.max(polledMax, procBytes(pid, 'VmRSS'));
    } catch {
      // exiting
    }
  }, 100);
  const cpu0 = cpuSeconds(pid);
  meter = loadMeter(ours(mem));
  const big = await throughput(mem, MEMORY_MESSAGES).finally(() => clearInterval(poll));
  otherLoad.memory = meter();
  const memCpu = cpuSeconds(pid) - cpu0;
  const hwm = procBytes(pid, 'VmHWM'); // read before the CLI exits
  polledMax = Math.max(polledMax, procBytes(pid, 'VmRSS'));
  debug('1 GiB streamed');
  const problems3 = [...mem.connection.problems];
  const cliExit2 = await stopProcess(mem);
  debug('cli-2 stopped');
  if (cliExit2.code !== 0) notes.push(`cli-2 exited with ${cliExit2.signal ?? `code ${cliExit2.code}`} after SIGTERM`);
  for (const proc of [cli, mem])
    if (proc.leftover)
      notes.push(`${proc.name}: its plugin process was still running after the CLI stopped; killed it`);
  for (const proc of [cli, mem]) {
    const stderr = readFileSync(proc.logs[1], 'utf8').trim();
    if (stderr) notes.push(`${proc.name} wrote to stderr:\n    ${stderr.split('\n').slice(0, 6).join('\n    ')}`);
  }

  // -------------------------------------------------------------------------------------------
  // Report

  const problems = [...problems12, ...problems3];
  const lineBytes =
    Buffer.byteLength(
      `{"event":"session","session_id":"${KEY}","data":{"type":"stream","data":{"type":"text","message":{"text":""},"meta":null}}}`,
    ) + PAYLOAD;
  const sorted = { cli: [...rtt.cli].sort((a, b) => a - b), direct: [...rtt.direct].sort((a, b) => a - b) };
  const p = (which, q) => percentile(sorted[which], q);
  const tput = { cli: median(rates.cli), direct: median(rates.direct) };
  const added50 = p('cli', 50) - p('direct', 50);
  const added99 = p('cli', 99) - p('direct', 99);
  const paired = rtt.cli.map((x, i) => x - rtt.direct[i]).sort((a, b) => a - b);
  const ms = (x) => x.toFixed(3);
  const signed = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
  const col = (s, w) => String(s).padStart(w);
  const row = (label, a, b, c) => console.log(`${label.padEnd(44)}${col(a, 14)}${col(b, 14)}${col(c, 14)}`);
  const bytes1g = MEMORY_MESSAGES * PAYLOAD;
  const cpus = availableParallelism();

  console.log(
    `\ndify plugin run as a relay: node ${process.version}, ${cpus} CPUs, ${int(PAYLOAD)}-byte payloads (${int(lineBytes)}-byte lines + "\\n\\n")\n`,
  );
  row('', 'through CLI', 'direct', 'CLI − direct');
  row(
    `throughput, msg/s (median of ${ROUNDS} × ${int(MESSAGES)})`,
    int(tput.cli),
    int(tput.direct),
    `${(((tput.cli - tput.direct) / tput.direct) * 100).toFixed(0)}%`,
  );
  row(
    '  each round, thousand msg/s',
    rates.cli.map((r) => int(r / 1000)).join('/'),
    rates.direct.map((r) => int(r / 1000)).join('/'),
    '',
  );
  row('  CLI CPU per message, µs', ((cliCpu / (ROUNDS * MESSAGES)) * 1e6).toFixed(1), '', '');
  row(`round trip p50, ms (${int(ROUND_TRIPS)} each)`, ms(p('cli', 50)), ms(p('direct', 50)), signed(added50));
  row('round trip p99, ms', ms(p('cli', 99)), ms(p('direct', 99)), signed(added99));
  row('round trip max, ms', ms(p('cli', 100)), ms(p('direct', 100)), '');
  row(
    '  paired (CLI − adjacent direct) p50 / p99',
    '',
    '',
    `${signed(percentile(paired, 50))} / ${signed(percentile(paired, 99))}`,
  );
  console.log(
    `${`${(bytes1g / 2 ** 30).toFixed(2)} GiB through the CLI`.padEnd(44)}${int(MEMORY_MESSAGES)} messages in ${(big.ms / 1000).toFixed(1)} s (${int(big.rate)} msg/s, ${((memCpu / MEMORY_MESSAGES) * 1e6).toFixed(1)} µs CPU/msg)`,
  );
  console.log(
    `${'CLI peak RSS'.padEnd(44)}${(hwm / MB).toFixed(1)} MB (VmHWM); ${(rssBefore / MB).toFixed(1)} MB before streaming, ${(polledMax / MB).toFixed(1)} MB polled max`,
  );
  console.log(
    `\n(added latency = CLI p99 − direct p99, the difference of the two distributions' percentiles; the paired row is the\n percentiles of per-pair differences, CLI and direct round trips alternating one by one; MB = 10^6 bytes)`,
  );
  console.log(
    `other processes used ${otherLoad.throughput.toFixed(2)} / ${otherLoad.latency.toFixed(2)} / ${otherLoad.memory.toFixed(2)} of the ${cpus} CPUs during the throughput / round-trip / 1 GiB phases`,
  );
  if (Math.max(otherLoad.throughput, otherLoad.latency, otherLoad.memory) > 0.2) {
    notes.push(
      'the machine was busy with other work: the figures (latency tails above all) are pessimistic; run again on a quiet machine',
    );
  }
  for (const note of notes) console.log(`note: ${note}`);
  if (problems.length) {
    console.log(`\nprotocol problems seen by the bench daemon:\n  ${problems.join('\n  ')}`);
    exitCode = 1;
  }

  const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
  console.log('');
  console.log(
    `throughput: ${int(tput.cli)} msg/s of ${int(PAYLOAD)}-byte stream messages through the CLI, ${int(tput.direct)} direct (target ≥ ${int(TARGET_MSGS)}): ${verdict(tput.cli >= TARGET_MSGS)}`,
  );
  console.log(
    `added latency: p99 ${signed(added99)} ms (CLI ${ms(p('cli', 99))} − direct ${ms(p('direct', 99))}; p50 ${signed(added50)} ms; target < ${TARGET_ADDED_P99_MS} ms): ${verdict(added99 < TARGET_ADDED_P99_MS)}`,
  );
  console.log(
    `peak memory: ${(hwm / MB).toFixed(1)} MB CLI peak RSS streaming ${(bytes1g / 2 ** 30).toFixed(2)} GiB in ${(big.ms / 1000).toFixed(1)} s (target < ${TARGET_RSS_MB} MB): ${verdict(hwm < TARGET_RSS_MB * MB)}`,
  );
} catch (err) {
  console.error(`bench-relay: ${err?.stack ?? err}`);
  await sleep(200); // a dropped connection is often the first sign of a process that died
  for (const proc of children) {
    const { exitCode: code, signalCode: signal } = proc.child;
    const state = code === null && signal === null ? 'running' : `exited with ${signal ?? `code ${code}`}`;
    console.error(`${proc.name}, pid ${proc.child.pid}: ${state}${tails(proc)}`);
  }
  exitCode = 1;
} finally {
  for (const proc of [...children]) await stopProcess(proc, 'SIGTERM', 7_000).catch(() => undefined);
  await daemon.close();
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = interrupted ? 130 : exitCode;
