/** Output formats of the command: tables, CSV, SVG and PNG charts, a progress bar. */
export { formatTable, formatCount, formatRate, formatDuration, formatBytes } from './table.js';
export type { Align, TableOptions } from './table.js';
export { toCsv, flattenObject } from './csv.js';
export type { CsvCell, FlatValue } from './csv.js';
export { escapeXml } from './xml.js';
export { lineChartSvg } from './line-chart.js';
export type { ChartSeries, ChartPanel, LineChartSpec } from './line-chart.js';
export { barChartSvg } from './bar-chart.js';
export type { BarChartSpec, BarSeries } from './bar-chart.js';
export type { AxisSpec, TickFormat } from './axis.js';
export { chartFormat, checkWritable, writeChart } from './chart-file.js';
export type { ChartFormat } from './chart-file.js';
export { ProgressBar } from './progress-bar.js';
export type { ProgressStream, ProgressBarOptions } from './progress-bar.js';
export { svgToPng } from './png.js';
