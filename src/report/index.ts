/** Output formats of the command: tables, CSV, SVG charts, a progress bar. */
export { formatTable, formatCount, formatRate, formatDuration, formatBytes } from './table.js';
export type { Align, TableOptions } from './table.js';
export { toCsv, flattenObject } from './csv.js';
export type { CsvCell, FlatValue } from './csv.js';
export { lineChartSvg, escapeXml } from './svg-chart.js';
export type { ChartSpec, ChartSeries } from './svg-chart.js';
export { ProgressBar } from './progress-bar.js';
export type { ProgressStream, ProgressBarOptions } from './progress-bar.js';
export { svgToPng } from './png.js';
