/** Reading the shipped Grafana dashboard and the docker/ kit files. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DOCKER_DIR = fileURLToPath(new URL('../../docker/', import.meta.url));
export const DASHBOARD_PATH = fileURLToPath(new URL('../../docker/grafana/dashboards/fraudwall.json', import.meta.url));

export interface DashboardTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly legendFormat?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string } | string;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string } | string | null;
  readonly gridPos?: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly DashboardTarget[];
  /** Rows keep their panels here when collapsed. */
  readonly panels?: readonly DashboardPanel[];
}

export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly datasource?: { readonly type?: string; readonly uid?: string } | string | null;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating?: { readonly list: readonly DashboardVariable[] };
}

export function loadDashboard(path: string = DASHBOARD_PATH): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** Every panel, including those nested in (collapsed) rows. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  const visit = (panels: readonly DashboardPanel[]): void => {
    for (const panel of panels) {
      out.push(panel);
      if (panel.panels !== undefined) visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

export interface PanelExpr {
  readonly panel: DashboardPanel;
  readonly target: DashboardTarget;
  readonly expr: string;
}

export function panelExprs(dashboard: Dashboard): PanelExpr[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel, target, expr: target.expr ?? '' })),
  );
}

/** The query of a template variable (`label_values(...)` and friends), whichever shape Grafana saved. */
export function variableQuery(variable: DashboardVariable): string {
  return typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
}

/** Metric names an expression references (fraudwall's own and prom-client's process metrics). */
export function referencedMetrics(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:fraudwall|process|nodejs)_\w+/g) ?? [])];
}

/** Grafana's interpolation, for the variables the dashboard may use. */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, plain: string | undefined) => {
    const name = braced ?? plain ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`expression uses $${name}, which the test does not know how to fill in: ${expr}`);
    return value;
  });
}

/** The labels an expression aggregates by (`by (a, b)`), plus those its legend shows (`{{a}}`). */
export function groupingLabels(expr: string, legendFormat = ''): Set<string> {
  const labels = new Set<string>();
  for (const match of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
    for (const label of match[1]!.split(',')) if (label.trim() !== '') labels.add(label.trim());
  }
  for (const match of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) labels.add(match[1]!);
  return labels;
}

export function datasourceUid(datasource: DashboardPanel['datasource']): string | undefined {
  if (datasource === null || datasource === undefined) return undefined;
  return typeof datasource === 'string' ? datasource : datasource.uid;
}
