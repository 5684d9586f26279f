//! `cargo bench -p pcc-conflict`: analysing a 5 000-line TypeScript file with 20 conflicting
//! regions and making every strategy's suggestion (target: ≤ 50 ms, PRODUCT.md §11 / issue 5).
//! Prints min, p50 and max over the runs; figures go to docs/performance.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use pcc_conflict::{ConflictFile, Record, Sides};

fn file(side: &str) -> String {
    let mut s = String::from("import { a } from './a';\nimport { b } from './b';\n\n");
    let mut lines = 3;
    let mut f = 0;
    while lines < 5_000 {
        // After every 28th function each side adds a different one: 20 conflicting regions
        // that the declaration-level merge resolves (and keep-both annotates).
        s.push_str(&format!(
            "/** Function number {f}. */\nexport function fn{f}(x: number): number {{\n  const y = x + {f};\n  if (y > 10) {{\n    console.log('big', y);\n  }}\n  return {f} + x;\n}}\n\n"
        ));
        if f % 28 == 0 && side != "base" {
            s.push_str(&format!("export function {side}{f}(x: number): number {{\n  return fn{f}(x) * 2;\n}}\n\n"));
            lines += 4;
        }
        lines += 9;
        f += 1;
    }
    s
}

fn main() {
    let (base, ours, theirs) = (file("base"), file("ours"), file("theirs"));
    let sides = Sides {
        path: "src/big.ts",
        base: base.as_bytes(),
        ours: ours.as_bytes(),
        theirs: theirs.as_bytes(),
        ours_label: "ours",
        theirs_label: "theirs",
    };
    let check = ConflictFile::analyze(&sides);
    let regions = check.analysis().regions.len();
    let suggestions = check.suggest(&|_| Record::default()).len();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        let f = ConflictFile::analyze(&sides);
        let s = f.suggest(&|_| Record::default());
        std::hint::black_box(s);
        times.push(start.elapsed());
    }
    times.sort();
    let mut parse: Vec<Duration> = (0..10)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(pcc_conflict::parses_cleanly("a.ts", &ours));
            start.elapsed()
        })
        .collect();
    parse.sort();
    println!("one parse of one version: p50 {:.1} ms", parse[5].as_secs_f64() * 1e3);
    println!(
        "analyze + suggest, {} lines, {regions} regions, {suggestions} suggestions: min {:.1} ms, p50 {:.1} ms, max {:.1} ms ({} runs)",
        base.lines().count(),
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}
