/** `vmsim --version`: the package version and which simulation core this installation runs on. */
import { nativeAddonPath, nativeLoadError } from '../core/native-core.js';
import { packageVersion } from '../package-info.js';

/** Two lines: "vmsim X.Y.Z" and the backend ('native' with the addon file, or 'js' and why). */
export function versionText(): string {
  const addon = nativeAddonPath();
  const backend = addon !== undefined
    ? `backend: native (${addon})`
    : `backend: js — the native addon did not load (${firstLine(nativeLoadError()?.message)}); results are the same, replay is slower`;
  return `vmsim ${packageVersion()}\n${backend}`;
}

function firstLine(s: string | undefined): string {
  return (s ?? 'unknown reason').split('\n')[0]!;
}
