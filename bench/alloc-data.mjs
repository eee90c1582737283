// Allocation benchmark input, the shape of examples/bench_allocate.rs: Dynatrace-tagged cost
// lines (3 accounts, 50 environments, 40 capabilities, 12 cost centres absent on ~1 line in 5,
// 35 days over two calendar months, micro-unit costs) and `rules` Datadog rules mixing percent,
// even, proportional (based_on_costs, evaluate_grouped_by_tag_keys), daily and monthly.

const ENVS = 50;
const CAPS = 40;
const CCS = 12;
const DAYS = 35;
const ACCOUNTS = 3;

function date(day) {
  const d = 10 + day;
  return d <= 31 ? `2025-01-${String(d).padStart(2, "0")}` : `2025-02-${String(d - 31).padStart(2, "0")}`;
}

const pad2 = (n) => String(n).padStart(2, "0");

export function allocationLines(n) {
  let a = 7;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const lines = new Array(n);
  for (let i = 0; i < n; i++) {
    const h1 = next();
    const h2 = next();
    const env = h1 % ENVS;
    const cap = (h1 >>> 8) % CAPS;
    const account = env % ACCOUNTS;
    const tags = {
      provider: "dynatrace",
      account: `acc-${account}`,
      subscription: `sub-${account}`,
      environment: `env-${pad2(env)}`,
      capability: `cap-${pad2(cap)}`,
    };
    if (h2 % 5 !== 0) tags.costcenter = `cc-${pad2((h2 >>> 4) % CCS)}`;
    lines[i] = { id: `line-${i}`, date: date(i % DAYS), cost: ((h2 >>> 8) % 50_000_000) / 1e6, currency: "USD", tags };
  }
  return lines;
}

export function allocationRules(n) {
  const rules = [];
  for (let k = 0; k < n; k++) {
    const costs = [{ condition: "is", tag: "capability", value: `cap-${pad2(k % CAPS)}` }];
    if (k >= 10) {
      costs.push({ condition: "in", tag: "environment", values: Array.from({ length: 10 }, (_, e) => `env-${pad2((k + e * 5) % 50)}`) });
    }
    const based = [{ condition: "like", tag: "capability", value: "cap-3*" }];
    const strategy = [
      {
        method: "percent",
        allocated_by: [
          { allocated_tags: [{ key: "product", value: "checkout" }], percentage: 0.5 },
          { allocated_tags: [{ key: "product", value: "search" }], percentage: 0.3 },
          { allocated_tags: [{ key: "product", value: "ads" }], percentage: 0.15 },
        ],
      },
      { method: "even", granularity: "daily", allocated_by_tag_keys: ["costcenter"], based_on_costs: based },
      { method: "proportional", granularity: "daily", allocated_by_tag_keys: ["costcenter"], based_on_costs: based },
      { method: "proportional", granularity: "daily", allocated_by_tag_keys: ["costcenter"], evaluate_grouped_by_tag_keys: ["environment"] },
      { method: "proportional", granularity: "monthly", allocated_by_tag_keys: ["costcenter"], based_on_costs: based },
    ][k % 5];
    rules.push({
      id: String(100 + k),
      type: "arbitrary_rule",
      attributes: { rule_name: `bench-${k}`, order_id: k, enabled: true, provider: ["dynatrace"], costs_to_allocate: costs, strategy },
    });
  }
  return { data: rules };
}
