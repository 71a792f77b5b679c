/**
 * Physical frames as a grid of cells by owner, with reference counts. The grid is one stop of
 * the Tab key; inside it the arrow keys, Home and End move from cell to cell (a roving
 * tabindex), and the focused (or hovered) cell's description shows under the grid as well as
 * being its accessible name.
 */
import { h } from './dom.js';
import { hex } from '../engine/bits.js';
import type { FrameUse } from '../engine/memory-map.js';
import type { Proc } from '../engine/process-lab.js';

/** The frames section: a legend, the grid and the description of the cell in focus. */
export function frameGrid(frames: FrameUse[], procs: Proc[]): HTMLElement {
  const pid = new Map(procs.map((p) => [p.pid, p.name]));
  // The boot run of kernel frames (frame 0, the kernel half's PDPTs, the idle PML4, the zero page) is one cell.
  let k = 0;
  while (k < frames.length && (frames[k]!.kind === 'kernel' || frames[k]!.kind === 'zero') && k < 300) k++;
  const cells = frames.slice(k).map((f, i) => {
    const who = f.owners.map((o) => pid.get(o.pid) ?? `pid ${o.pid}`);
    const mark = f.kind === 'free' ? '' : f.kind === 'kernel' ? 'K' : f.kind === 'zero' ? 'Z' : f.kind === 'swapcache' ? 'SC' : f.kind === 'table' ? `T${f.owners.map((o) => o.pid).join('+')}` : f.owners.map((o) => o.pid).filter((v, j, a) => a.indexOf(v) === j).join('+');
    const desc = `frame ${f.pfn}: ${f.kind === 'swapcache' ? `swap cache (slot ${f.slot})` : f.kind}${who.length ? ' of ' + [...new Set(who)].join(', ') : ''}${f.owners.some((o) => o.va !== undefined) ? ' at ' + [...new Set(f.owners.filter((o) => o.va !== undefined).map((o) => hex(o.va!)))].join(', ') : ''}, ${f.refCount} reference${f.refCount === 1 ? '' : 's'}`;
    const owners = [...new Set(f.owners.map((o) => o.pid))];
    return h('li', { className: `frame k-${f.kind} ${owners.length === 1 ? `owner-${owners[0]! % 8}` : owners.length > 1 ? 'shared' : ''}`, tabindex: i === 0 ? '0' : '-1', title: desc, 'aria-label': desc, 'data-pfn': f.pfn, 'data-kind': f.kind, 'data-owners': owners.join(','), 'data-refs': f.refCount }, h('span', { className: 'pfn' }, String(f.pfn)), h('span', { className: 'mark' }, mark), f.refCount > 1 ? h('span', { className: 'refs' }, `\u00d7${f.refCount}`) : null);
  });
  const detail = h('p', { className: 'frame-detail', 'data-frame-detail': '' }, cells.length ? 'Tab into the grid, then move with the arrow keys (Home, End: first and last frame): the frame in focus is described here.' : '');
  const grid = h('ul', { className: 'frame-grid', 'aria-label': 'physical frames (arrow keys move between frames)' }, ...cells);
  const describe = (cell: HTMLElement) => (detail.textContent = cell.getAttribute('aria-label'));
  grid.addEventListener('focusin', (e) => describe(e.target as HTMLElement));
  grid.addEventListener('mouseover', (e) => {
    const cell = (e.target as HTMLElement).closest('li');
    if (cell) describe(cell);
  });
  grid.addEventListener('keydown', (e) => {
    const i = cells.indexOf(document.activeElement as HTMLLIElement);
    if (i < 0) return;
    // Cells per row as laid out now (the grid reflows with the window and the text size).
    const top = cells[0]!.offsetTop;
    let cols = cells.findIndex((c) => c.offsetTop !== top);
    if (cols <= 0) cols = cells.length;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, ArrowDown: i + cols, ArrowUp: i - cols, Home: 0, End: cells.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const j = Math.max(0, Math.min(cells.length - 1, to));
    cells[i]!.tabIndex = -1;
    cells[j]!.tabIndex = 0;
    cells[j]!.focus();
  });
  return h(
    'section',
    { className: 'frames-view' },
    h('h3', {}, 'Physical frames'),
    h('p', { className: 'hint' }, `Frames 0\u2013${k - 1}: the kernel (frame 0, the shared kernel half\u2019s tables, the idle PML4, the zero page). Each cell: the frame number; who uses it (a pid, T for a page-table page, + between sharers, Z the zero page, SC the swap cache, K the kernel); \u00d7N its reference count.`),
    grid,
    detail,
  );
}
