/**
 * Chart.js with only the pieces this page draws: line charts (learning curve, epoch losses) with
 * a filled confidence band, and bar charts (labels per hour), all on linear or category axes.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
Chart.defaults.color = '#5b6475';
Chart.defaults.borderColor = '#e6e9ef';

/** The palette of app.css, as Chart.js needs literal colours. */
export const colors = {
  accent: '#2457c5',
  accentBand: 'rgb(36 87 197 / 14%)',
  second: '#b54708',
  secondBand: 'rgb(181 71 8 / 12%)',
  ok: '#146c43',
  muted: '#5b6475',
};

export { Chart };
export type { ChartConfiguration, ChartData, ChartOptions, ChartType } from 'chart.js';
