//! The Collector's transform processor config, read from JSON, compiled, every problem
//! reported at once with its path.
//!
//! ```yaml
//! error_mode: ignore            # ignore (default) | silent | propagate
//! trace_statements:             # metric_statements, log_statements likewise
//!   - set(span.attributes["a"], "b")         # flat form: the context comes from path prefixes
//!   - context: span                          # group form
//!     error_mode: propagate                  # overrides the top-level one
//!     conditions: ['span.name == "x"']      # ORed; the statements run only where one holds
//!     statements: ['set(attributes["c"], "d")']
//! ```

use serde_json::{Map, Value as Json};
use sluice_guest_sdk::{ConfigProblem, Signal};

use crate::ottl::ParseError;
use crate::ottl::compile::{Compiler, Unit};
use crate::ottl::context::Context;
use crate::ottl::parser::{parse_condition, parse_statement};
use crate::ottl::program::{Cond, Statement};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorMode {
    /// Log the error, go on with the next statement.
    Ignore,
    /// Go on with the next statement without logging.
    Silent,
    /// Fail the batch: the host applies the processor's `on_error` policy.
    Propagate,
}

/// One compiled statement and where it came from.
#[derive(Debug)]
pub struct Stmt {
    pub statement: Statement,
    /// `metric_statements[0].statements[1]`
    pub label: String,
    pub source: String,
}

/// Statements that share conditions and an error mode.
#[derive(Debug)]
pub struct Group {
    pub conditions: Vec<(String, Cond)>,
    pub statements: Vec<Stmt>,
    pub error_mode: ErrorMode,
}

/// Everything `init` compiled.
#[derive(Debug, Default)]
pub struct Program {
    pub traces: Vec<Group>,
    pub metrics: Vec<Group>,
    pub logs: Vec<Group>,
}

const SIGNALS: [(&str, Signal); 3] = [
    ("trace_statements", Signal::Traces),
    ("metric_statements", Signal::Metrics),
    ("log_statements", Signal::Logs),
];

/// Compiles the config; `Ok` carries warnings (accepted, but worth changing).
pub fn load(json: &str) -> Result<(Program, Vec<ConfigProblem>), Vec<ConfigProblem>> {
    let root: Json = serde_json::from_str(json).map_err(|e| {
        vec![ConfigProblem::new(
            "",
            format!("config is not valid JSON: {e}"),
        )]
    })?;
    let Json::Object(root) = root else {
        return Err(vec![ConfigProblem::new("", "config must be a map")]);
    };
    let mut l = Loader::default();
    for key in root.keys() {
        match key.as_str() {
            "error_mode" | "trace_statements" | "metric_statements" | "log_statements" => {}
            "profile_statements" => l.problem(key, "profiles are not supported by Sluice"),
            other => l.problem(
                other,
                format!("unknown field `{other}`, expected error_mode, trace_statements, metric_statements or log_statements"),
            ),
        }
    }
    let mode = l
        .error_mode(&root, "error_mode", "")
        .unwrap_or(ErrorMode::Ignore);
    let mut program = Program::default();
    for (key, signal) in SIGNALS {
        let groups = match root.get(key) {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(entries)) => l.entries(key, signal, entries, mode),
            Some(_) => {
                l.problem(key, "must be a list of statements or statement groups");
                Vec::new()
            }
        };
        match signal {
            Signal::Traces => program.traces = groups,
            Signal::Metrics => program.metrics = groups,
            Signal::Logs => program.logs = groups,
        }
    }
    if l.problems.is_empty() {
        Ok((program, l.warnings))
    } else {
        Err(l.problems)
    }
}

#[derive(Default)]
struct Loader {
    problems: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
}

impl Loader {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(ConfigProblem::new(path, message));
    }

    fn error_mode(
        &mut self,
        map: &Map<String, Json>,
        key: &str,
        prefix: &str,
    ) -> Option<ErrorMode> {
        let path = if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        };
        match map.get(key)? {
            Json::String(s) if s == "ignore" => Some(ErrorMode::Ignore),
            Json::String(s) if s == "silent" => Some(ErrorMode::Silent),
            Json::String(s) if s == "propagate" => Some(ErrorMode::Propagate),
            other => {
                self.problem(
                    &path,
                    format!("must be ignore, silent or propagate, not {other}"),
                );
                None
            }
        }
    }

    /// A list mixing flat statements (strings) and groups (maps); consecutive strings form
    /// one group, as the Collector's flat form does.
    fn entries(
        &mut self,
        key: &str,
        signal: Signal,
        entries: &[Json],
        mode: ErrorMode,
    ) -> Vec<Group> {
        let mut groups = Vec::new();
        let mut flat: Option<Group> = None;
        let flat_compiler = Compiler {
            signal,
            declared: None,
        };
        for (i, entry) in entries.iter().enumerate() {
            let label = format!("{key}[{i}]");
            match entry {
                Json::String(src) => {
                    let group = flat.get_or_insert_with(|| Group {
                        conditions: vec![],
                        statements: vec![],
                        error_mode: mode,
                    });
                    if let Some(stmt) = self.statement(&flat_compiler, &[], label, src) {
                        group.statements.push(stmt);
                    }
                }
                Json::Object(map) => {
                    groups.extend(flat.take());
                    groups.extend(self.group(&label, signal, map, mode));
                }
                _ => self.problem(
                    &label,
                    "must be a statement (string) or a group with `statements:`",
                ),
            }
        }
        groups.extend(flat);
        groups
    }

    fn group(
        &mut self,
        label: &str,
        signal: Signal,
        map: &Map<String, Json>,
        mode: ErrorMode,
    ) -> Option<Group> {
        for k in map.keys() {
            if !matches!(
                k.as_str(),
                "context" | "error_mode" | "conditions" | "statements"
            ) {
                self.problem(
                    &format!("{label}.{k}"),
                    format!("unknown field `{k}`, expected context, error_mode, conditions or statements"),
                );
            }
        }
        let declared = match map.get("context") {
            None | Some(Json::Null) => None,
            Some(Json::String(name)) => {
                match Context::parse(name).filter(|c| Context::for_signal(signal).contains(c)) {
                    Some(c) => Some(c),
                    None => {
                        let allowed: Vec<&str> = Context::for_signal(signal)
                            .iter()
                            .map(|c| c.name())
                            .collect();
                        self.problem(
                            &format!("{label}.context"),
                            format!(
                                "unknown context {name:?}; expected one of {}",
                                allowed.join(", ")
                            ),
                        );
                        return None;
                    }
                }
            }
            Some(other) => {
                self.problem(
                    &format!("{label}.context"),
                    format!("must be a string, not {other}"),
                );
                return None;
            }
        };
        let error_mode = self.error_mode(map, "error_mode", label).unwrap_or(mode);
        let compiler = Compiler { signal, declared };
        let mut conditions = Vec::new();
        let mut condition_units = Vec::new();
        for (i, src) in self
            .strings(map, "conditions", label)
            .into_iter()
            .enumerate()
        {
            let at = format!("{label}.conditions[{i}]");
            match parse_condition(&src).and_then(|c| compiler.condition(&c)) {
                Ok(unit) => {
                    self.warn_metric_attributes(&at, &unit, &src);
                    condition_units.push(unit.deepest);
                    conditions.push((at, unit.item));
                }
                Err(e) => self.statement_problem(&at, &src, e),
            }
        }
        if !map.contains_key("statements") {
            self.problem(
                &format!("{label}.statements"),
                "a group needs `statements:`",
            );
        }
        let mut statements = Vec::new();
        for (i, src) in self
            .strings(map, "statements", label)
            .into_iter()
            .enumerate()
        {
            let at = format!("{label}.statements[{i}]");
            if let Some(stmt) = self.statement(&compiler, &condition_units, at, &src) {
                statements.push(stmt);
            }
        }
        Some(Group {
            conditions,
            statements,
            error_mode,
        })
    }

    fn strings(&mut self, map: &Map<String, Json>, key: &str, label: &str) -> Vec<String> {
        match map.get(key) {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Json::String(s) => Some(s.clone()),
                    other => {
                        self.problem(
                            &format!("{label}.{key}[{i}]"),
                            format!("must be a string, not {other}"),
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.problem(
                    &format!("{label}.{key}"),
                    format!("must be a list of strings, not {other}"),
                );
                Vec::new()
            }
        }
    }

    fn statement(
        &mut self,
        compiler: &Compiler,
        conditions: &[Option<Context>],
        label: String,
        src: &str,
    ) -> Option<Stmt> {
        let unit = match parse_statement(src).and_then(|s| compiler.statement(&s)) {
            Ok(unit) => unit,
            Err(e) => {
                self.statement_problem(&label, src, e);
                return None;
            }
        };
        self.warn_metric_attributes(&label, &unit, src);
        let context = conditions
            .iter()
            .chain([&unit.deepest])
            .flatten()
            .copied()
            .max_by_key(|c| c.depth())
            .unwrap_or(Context::Resource);
        if let Some(declared) = compiler
            .declared
            .filter(|d| d.depth() < context.depth() && !unit.metric_attributes)
        {
            self.warnings.push(ConfigProblem::new(
                &label,
                format!(
                    "uses {} paths, so it runs once per {} although the group's context is {}",
                    context.name(),
                    context.name(),
                    declared.name()
                ),
            ));
        }
        let (editor, condition) = unit.item;
        Some(Stmt {
            statement: Statement {
                editor,
                condition,
                context,
            },
            label,
            source: src.to_owned(),
        })
    }

    fn warn_metric_attributes<T>(&mut self, label: &str, unit: &Unit<T>, src: &str) {
        if unit.metric_attributes {
            self.warnings.push(ConfigProblem::new(
                label,
                format!(
                    "metrics have no attributes; applying to every data point of the metric (write datapoint.attributes or use `context: datapoint`): {src}"
                ),
            ));
        }
    }

    fn statement_problem(&mut self, label: &str, src: &str, e: ParseError) {
        self.problem(label, format!("column {}: {}, in: {src}", e.col, e.message));
    }
}
