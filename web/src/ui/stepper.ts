/**
 * The step control every view shares: start, back, forward, end, a slider, play/pause. Going
 * back re-runs the scenario from the start to the earlier step (the view's render does that).
 */
import { h } from './dom.js';

/** A stepper over steps 0..max; `onStep` renders a step. */
export class Stepper {
  readonly el: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly play: HTMLButtonElement;
  private readonly buttons: HTMLButtonElement[];

  constructor(
    private step: number,
    private max: number,
    private readonly onStep: (step: number) => void,
    private readonly what = 'step',
  ) {
    const b = (text: string, label: string, action: () => void, key: string) => h('button', { type: 'button', 'aria-label': label, title: `${label} (${key})`, 'data-step': key, onclick: action }, text);
    this.buttons = [b('« First', `first ${what}`, () => this.go(0), 'Home'), b('‹ Back', `${what} back`, () => this.go(this.step - 1), '←'), b('Forward ›', `${what} forward`, () => this.go(this.step + 1), '→'), b('Last »', `last ${what}`, () => this.go(this.max), 'End')];
    this.play = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => this.toggle() }, 'Play');
    this.slider = h('input', { type: 'range', min: 0, max, value: step, 'aria-label': `${what} number`, oninput: () => this.go(Number(this.slider.value)) });
    this.label = h('span', { className: 'step-label', 'aria-live': 'polite', role: 'status' });
    this.el = h('div', { className: 'stepper', role: 'group', 'aria-label': `${what}s` }, this.buttons[0]!, this.buttons[1]!, this.slider, this.buttons[2]!, this.buttons[3]!, this.play, this.label);
    // Arrow keys, Home and End step anywhere inside the control (the slider handles its own).
    this.el.addEventListener('keydown', (e) => {
      if (e.target === this.slider) return;
      const to = e.key === 'ArrowLeft' ? this.step - 1 : e.key === 'ArrowRight' ? this.step + 1 : e.key === 'Home' ? 0 : e.key === 'End' ? this.max : undefined;
      if (to !== undefined) {
        e.preventDefault();
        this.go(to);
      }
    });
    this.update();
  }

  /** The step shown. */
  get current(): number {
    return this.step;
  }

  /** Shows step `n` (clamped). */
  go(n: number): void {
    const to = Math.max(0, Math.min(this.max, n));
    if (to === this.step) return this.update();
    this.step = to;
    this.update();
    this.onStep(to);
  }

  private update(): void {
    this.slider.value = String(this.step);
    this.label.textContent = `${this.what} ${this.step} of ${this.max}`;
    this.buttons[0]!.disabled = this.buttons[1]!.disabled = this.step === 0;
    this.buttons[2]!.disabled = this.buttons[3]!.disabled = this.step === this.max;
    if (this.step === this.max) this.stop();
  }

  private toggle(): void {
    if (this.timer) return this.stop();
    if (this.step === this.max) this.go(0);
    this.play.textContent = 'Pause';
    this.play.setAttribute('aria-pressed', 'true');
    // A view replaced while playing (another tab, a new run) stops its timer at the next tick.
    this.timer = setInterval(() => (this.el.isConnected ? this.go(this.step + 1) : this.stop()), 700);
  }

  /** Stops playing. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.play.textContent = 'Play';
    this.play.setAttribute('aria-pressed', 'false');
  }
}
