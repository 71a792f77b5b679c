/**
 * The teaching page: tabs over the library's machine. Each tab is a module with a mount
 * function; adding a view is one more entry in TABS.
 */
import { h, replace } from './ui/dom.js';
import { readParams, writeParams, type Params } from './ui/url-state.js';
import { mountTranslate } from './ui/translate-tab.js';
import { mountReplace } from './ui/replace-tab.js';
import { mountProcesses } from './ui/processes-tab.js';
import { mountExercises } from './ui/exercises-tab.js';
import { mountCpus } from './ui/cpus-tab.js';
import * as engine from './engine/index.js';

/** A view of the page: its tab and what it shows. */
export interface Tab {
  id: string;
  label: string;
  /** Builds the view into `panel` from the URL's parameters; `save` writes them back to the URL. */
  mount(panel: HTMLElement, params: Params, save: (p: Params) => void): void;
}

const TABS: Tab[] = [
  { id: 'translate', label: 'Translation', mount: mountTranslate },
  { id: 'replace', label: 'Page replacement', mount: mountReplace },
  { id: 'processes', label: 'Processes', mount: (panel, p, save) => mountProcesses(panel, p, save, 'processes') },
  { id: 'pressure', label: 'Memory pressure', mount: (panel, p, save) => mountProcesses(panel, p, save, 'pressure') },
  { id: 'cpus', label: 'CPUs and TLBs', mount: mountCpus },
  { id: 'exercises', label: 'Exercises', mount: mountExercises },
];

function start(): void {
  const root = document.getElementById('app')!;
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Views', className: 'tabs' });
  const panel = h('div', { role: 'tabpanel', className: 'panel', tabindex: '-1' });
  const buttons = TABS.map((t) =>
    h('button', { role: 'tab', id: `tab-${t.id}`, type: 'button', 'aria-controls': 'panel', 'data-tab': t.id, onclick: () => select(t.id, true) }, t.label),
  );
  panel.id = 'panel';
  tablist.append(...buttons);
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab goes into the panel.
  tablist.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    const j = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : -1;
    if (j < 0) return;
    e.preventDefault();
    buttons[j]!.focus();
    select(TABS[j]!.id, true);
  });
  replace(root, tablist, panel);

  let current = '';
  function select(id: string, fresh: boolean): void {
    const tab = TABS.find((t) => t.id === id) ?? TABS[0]!;
    const params = fresh && tab.id !== current ? new URLSearchParams() : readParams();
    params.set('tab', tab.id);
    current = tab.id;
    buttons.forEach((b, k) => {
      const on = TABS[k] === tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', `tab-${tab.id}`);
    replace(panel);
    writeParams(params);
    try {
      tab.mount(panel, params, (p) => {
        p.set('tab', tab.id);
        writeParams(p);
      });
    } catch (e) {
      replace(panel, h('p', { className: 'error', role: 'alert' }, `This view failed: ${(e as Error).message}`));
      throw e;
    }
  }
  // A URL pasted or edited by hand (or the back button) shows its state.
  window.addEventListener('hashchange', () => select(readParams().get('tab') ?? 'translate', false));
  select(readParams().get('tab') ?? 'translate', false);
}

// For tests and the curious: the page's engine (the library's code) in the console.
(globalThis as { vmsim?: unknown }).vmsim = engine;
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
