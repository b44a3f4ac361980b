// A whole debug session against `llmspell dap`, driven by the DebugClient
// that VS Code's own debug adapters are tested with
// (@vscode/debugadapter-testsupport, from npm). tests/dap.rs runs it for a
// spell in each language:
//
//   node session.cjs LLMSPELL SPELL [PORT]
//
// With PORT it connects to `llmspell dap --port PORT` instead of starting
// the adapter on stdio. With SCENARIO=errors in the environment it runs
// the second session instead: a pause on a failed call whose result is
// given from the editor, then a pause asked while the spell loops, and
// terminate. It prints "ok" when every step went as expected,
// else fails with what did not.
'use strict';
const assert = require('node:assert/strict');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const [llmspell, program, port] = process.argv.slice(2);
// What the adapter printed, shown when a step fails.
const output = [];

// Makes a request and waits for the stop it leads to (listening first:
// the event may come before the response).
async function stopped(dc, reason, request) {
  const [e] = await Promise.all([dc.waitForEvent('stopped'), request()]);
  const reasons = Array.isArray(reason) ? reason : [reason];
  assert.ok(reasons.includes(e.body.reason), JSON.stringify(e.body));
  const trace = await dc.stackTraceRequest({ threadId: 1 });
  return trace.body.stackFrames;
}

async function variables(dc, reference) {
  const r = await dc.variablesRequest({ variablesReference: reference });
  return Object.fromEntries(r.body.variables.map((v) => [v.name, v]));
}

async function scope(dc, frameId, name) {
  const r = await dc.scopesRequest({ frameId });
  const s = r.body.scopes.find((s) => s.name === name);
  assert.ok(s, `no ${name} scope in ${JSON.stringify(r.body.scopes)}`);
  return s.variablesReference;
}

async function errors() {
  const dc = new DebugClient(llmspell, 'dap', 'llmspell');
  dc.defaultTimeout = 20000;
  dc.on('output', (e) => output.push(e.body.output));
  await dc.start();
  await dc.initializeRequest();
  await dc.launchRequest({ program });
  await dc.setExceptionBreakpointsRequest({ filters: ['errors'] });
  let frames = await stopped(dc, 'exception', () => dc.configurationDoneRequest());
  assert.equal(frames[0].line, 1);
  const error = await variables(dc, await scope(dc, frames[0].id, 'Error'));
  assert.match(error.error.value, /json/);
  await dc.setVariableRequest({ variablesReference: CALL, name: 'result', value: '{"fixed": true}' });
  // Going on, the call returns what was given; then the spell loops until
  // it is paused, and is ended there.
  await dc.continueRequest({ threadId: 1 });
  await new Promise((r) => setTimeout(r, 200));
  frames = await stopped(dc, 'pause', () => dc.pauseRequest({ threadId: 1 }));
  const locals = await variables(dc, await scope(dc, frames[0].id, 'Locals'));
  assert.ok(Number(locals.n.value) > 0, JSON.stringify(locals));
  const ended = dc.waitForEvent('terminated');
  await dc.terminateRequest();
  await ended;
  assert.match(output.join(''), /got \{"fixed":true\}/);
  await dc.stop();
  console.log('ok');
}

// The reference of a call's arguments, reply or error (llmspell's own).
const CALL = 1;

async function main() {
  if (process.env.SCENARIO === 'errors') {
    return errors();
  }
  const dc = new DebugClient(llmspell, 'dap', 'llmspell');
  dc.defaultTimeout = 20000;
  dc.on('output', (e) => output.push(e.body.output));
  await dc.start(port ? Number(port) : undefined);

  const init = await dc.initializeRequest();
  for (const c of ['supportsConditionalBreakpoints', 'supportsHitConditionalBreakpoints',
    'supportsLogPoints', 'supportsFunctionBreakpoints', 'supportsSetVariable',
    'supportsConfigurationDoneRequest']) {
    assert.equal(init.body[c], true, c);
  }
  await dc.launchRequest({ program, args: { who: 'dap' } });
  const bps = await dc.setBreakpointsRequest({
    source: { path: program },
    breakpoints: [
      { line: 7, condition: 'i > 2' },
      { line: 2, logMessage: 'n is {n}' },
      { line: 8 },
      { line: 5, hitCondition: 'lots' },
    ],
  });
  const [cond, log, comment, bad] = bps.body.breakpoints;
  assert.equal(cond.verified, true);
  assert.equal(log.verified, true);
  assert.equal(comment.verified, false, 'a comment line has no code');
  assert.match(comment.message, /no code/);
  assert.equal(bad.verified, false, 'a hit count that is not one');
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'llm.chat' }] });
  // The condition holds first at i = 3: the stack, the locals, code run.
  let frames = await stopped(dc, 'breakpoint', () => dc.configurationDoneRequest());
  assert.equal(frames[0].line, 7);
  assert.equal(frames[0].name, 'main');
  assert.equal(frames[0].source.path, program);
  const locals = await scope(dc, frames[0].id, 'Locals');
  let vars = await variables(dc, locals);
  assert.equal(vars.i.value, '3');
  assert.equal(vars.total.value, '8');
  const ev = await dc.evaluateRequest({ expression: 'total * 10', frameId: frames[0].id, context: 'watch' });
  assert.equal(ev.body.result, '80');
  // A local set from the editor: the spell goes on with it.
  const set = await dc.setVariableRequest({ variablesReference: locals, name: 'total', value: '100' });
  assert.equal(set.body.value, '100');
  vars = await variables(dc, locals);
  assert.equal(vars.total.value, '100');

  // Into grow, where the logpoint logs and the step stops.
  frames = await stopped(dc, 'step', () => dc.stepInRequest({ threadId: 1 }));
  assert.deepEqual(frames.map((f) => f.name), ['grow', 'main']);
  assert.equal(frames[0].line, 2);
  vars = await variables(dc, await scope(dc, frames[0].id, 'Locals'));
  assert.equal(vars.n.value, '3');
  // Out again, into main (in JavaScript the next line of main is the
  // breakpoint's again, for i = 4: a breakpoint is the reason then).
  frames = await stopped(dc, ['step', 'breakpoint'], () => dc.stepOutRequest({ threadId: 1 }));
  assert.equal(frames[0].name, 'main');

  // No more line breakpoints: on to the model call, by its pattern.
  await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [] });
  frames = await stopped(dc, 'function breakpoint', () => dc.continueRequest({ threadId: 1 }));
  assert.equal(frames[0].line, 10);
  vars = await variables(dc, await scope(dc, frames[0].id, 'Arguments'));
  assert.equal(vars['1'].value, '"say hi"');
  // Over the call, and its reply edited before the spell sees it.
  frames = await stopped(dc, 'step', () => dc.nextRequest({ threadId: 1 }));
  vars = await variables(dc, await scope(dc, frames[0].id, 'Reply'));
  const reply = await variables(dc, vars.reply.variablesReference);
  assert.equal(reply.text.value, '"hoot"');
  await dc.setVariableRequest({ variablesReference: vars.reply.variablesReference, name: 'text', value: '"edited"' });

  const ended = dc.waitForEvent('terminated');
  const exited = dc.waitForEvent('exited');
  await dc.continueRequest({ threadId: 1 });
  assert.equal((await exited).body.exitCode, 0);
  await ended;
  const text = output.join('');
  assert.match(text, /\[log :2\] n is 1/);
  assert.match(text, /\[log :2\] n is 3/);
  assert.match(text, /hello dap/);
  assert.match(text, /reply: edited/);
  assert.match(text, /"reply":"edited"/);
  assert.match(text, /"total":116/);
  await dc.stop();
  console.log('ok');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  console.error(`the adapter's output:\n${output.join('')}`);
  process.exit(1);
});
