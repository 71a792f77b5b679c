/**
 * A view over a script of library calls (engine/script.ts), shared by the Processes, Memory
 * pressure and CPUs tabs: ready-made scenarios, the script, buttons that add a line, the step
 * control, each line with the call it makes and what it did, and the tab's own picture of the
 * machine after the step shown. Going back replays the script from the start on a fresh machine.
 */
import { h, replace } from './dom.js';
import { Stepper } from './stepper.js';
import { intParam, type Params } from './url-state.js';
import { parseScript, apiCall, ScriptError, type Command } from '../engine/script.js';
import type { StepResult } from '../engine/process-lab.js';

/** What one render of a step gives the shared view. */
export interface LabRender {
  /** What each line run so far did. */
  results: StepResult[];
  /** A note after line i in the log (what the line cost), if any. */
  note?(i: number): string | undefined;
  /** The tab's picture of the machine after the step. */
  view: HTMLElement[];
}

/** A field of the add-a-line bar. */
export interface OpField {
  name: string;
  label: string;
  value: string;
  size: number;
}

/** What a tab gives the shared view. */
export interface ScriptLabConfig {
  /** Prefix of element ids. */
  id: string;
  title: string;
  intro: string;
  scenarios: { name: string; script: string }[];
  /** The language's summary under the script. */
  help: string;
  fields: OpField[];
  /** Buttons that add a line: a label and the line made from the fields' values (`next`: an unused name with this prefix). */
  ops: [label: string, make: (v: Record<string, string>, next: (prefix: string) => string) => string][];
  /** Runs the first `step` lines of `commands` on a fresh machine and draws the result. */
  render(commands: Command[], step: number): LabRender;
}

/** Builds a script view into `panel` from the URL's parameters. */
export function mountScriptLab(panel: HTMLElement, params: Params, save: (p: Params) => void, cfg: ScriptLabConfig): void {
  const text = h('textarea', { rows: 9, cols: 48, spellcheck: 'false', id: `${cfg.id}-script`, 'aria-describedby': `${cfg.id}-help` }, params.get('script') ?? cfg.scenarios[0]!.script);
  const error = h('p', { className: 'error', role: 'alert' });
  const out = h('div', {});
  const log = h('ol', { className: 'log' });
  const view = h('div', { className: 'lab-view' });
  const inputs = Object.fromEntries(cfg.fields.map((f) => [f.name, h('input', { type: 'text', value: f.value, size: f.size, 'data-op-field': f.name })]));
  let stepper: Stepper | undefined;
  let commands: Command[] = [];

  const append = (line: string) => {
    const at = stepper ? stepper.current : commands.length;
    // Lines past the step shown are dropped: a new action continues from what is on screen.
    const kept = text.value.split('\n').filter((l) => l.replace(/#.*/, '').trim() !== '');
    text.value = [...kept.slice(0, at), line].join('\n');
    run(Number.MAX_SAFE_INTEGER);
  };
  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
  const next = (prefix: string) => {
    let n = 1;
    while (commands.some((c) => 'name' in c && c.name === `${prefix}${n}`)) n++;
    return `${prefix}${n}`;
  };
  replace(
    panel,
    h('h2', {}, cfg.title),
    h('p', { className: 'intro' }, cfg.intro),
    h('div', { className: 'presets', role: 'group', 'aria-label': 'scenarios' }, ...cfg.scenarios.map((s) => h('button', { type: 'button', onclick: () => ((text.value = s.script), run(Number.MAX_SAFE_INTEGER)) }, s.name))),
    h('div', { className: 'script' }, h('label', { for: text.id }, 'Script'), text, h('p', { className: 'hint', id: `${cfg.id}-help` }, cfg.help), h('button', { type: 'button', onclick: () => run(Number.MAX_SAFE_INTEGER) }, 'Run script')),
    h(
      'div',
      { className: 'ops', role: 'group', 'aria-label': 'add a step' },
      ...cfg.fields.map((f) => h('label', { className: 'op-field' }, h('span', {}, f.label), inputs[f.name]!)),
      h('span', { className: 'hint' }, 'add a line:'),
      ...cfg.ops.map(([label, make]) => h('button', { type: 'button', 'data-op': label, onclick: () => append(make(values(), next)) }, label)),
    ),
    error,
    out,
  );

  function run(step: number): void {
    error.textContent = '';
    try {
      commands = parseScript(text.value);
    } catch (e) {
      if (!(e instanceof ScriptError)) throw e;
      error.textContent = e.message;
      return;
    }
    stepper?.stop();
    stepper = new Stepper(Math.min(step, commands.length), commands.length, (s) => show(s), 'line');
    replace(out, stepper.el, h('h3', {}, 'Steps'), log, view);
    show(stepper.current);
  }

  function show(step: number): void {
    save(new URLSearchParams({ script: text.value, step: String(step) }));
    const r = cfg.render(commands, step);
    replace(log, ...commands.map((c, i) => {
      const res = r.results[i];
      const note = res ? r.note?.(i) : undefined;
      return h('li', { ...(i === step - 1 ? { 'aria-current': 'step', className: 'now' } : i >= step ? { className: 'later' } : {}), 'data-ok': res ? String(res.ok) : null }, h('code', {}, c.text), h('span', { className: 'api' }, ` ${apiCall(c)}`), res ? h('span', { className: res.ok ? 'msg' : 'msg bad' }, ` \u2192 ${res.ok ? '' : 'failed: '}${res.message}`) : null, note ? h('span', { className: 'note' }, ` \u00b7 ${note}`) : null);
    }));
    replace(view, ...r.view);
  }

  run(intParam(params, 'step', Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER));
}
