//! Requests built from the OpenAPI document alone, as a client generated from it would build
//! them: values drawn from each schema (patterns by their regular expression, enums, ranges,
//! required and optional properties), so the contract test can check that the server never
//! refuses for its shape what its own document allows.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

/// Draws instances of the document's schemas.
pub struct Instances<'a> {
    document: &'a Value,
    runner: TestRunner,
    /// Date-times are drawn increasing, so a range's start (listed first, as in every
    /// filter) comes before its end.
    minutes: u32,
}

impl<'a> Instances<'a> {
    /// A generator over `document`, the same sequence on every run.
    pub fn new(document: &'a Value) -> Self {
        Self {
            document,
            runner: TestRunner::deterministic(),
            minutes: 0,
        }
    }

    /// A number below `n`.
    fn below(&mut self, n: usize) -> usize {
        (0..n.max(1))
            .new_tree(&mut self.runner)
            .map(|tree| tree.current())
            .unwrap_or(0)
    }

    /// Heads or tails.
    pub fn chance(&mut self) -> bool {
        self.below(2) == 0
    }

    /// What `#/components/schemas/X` names.
    fn resolve(&self, reference: &str) -> Value {
        reference
            .strip_prefix("#/")
            .map(|path| format!("/{path}"))
            .and_then(|pointer| self.document.pointer(&pointer).cloned())
            .unwrap_or_else(|| panic!("the document has no {reference}"))
    }

    /// One value `schema` allows.
    pub fn value(&mut self, schema: &Value) -> Value {
        self.value_at(schema, 0)
    }

    fn value_at(&mut self, schema: &Value, depth: usize) -> Value {
        if let Some(reference) = schema["$ref"].as_str() {
            let resolved = self.resolve(reference);
            return self.value_at(&resolved, depth + 1);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = schema[key].as_array() {
                // A nullable reference is "null or the thing": draw the thing more often.
                let useful: Vec<&Value> = choices.iter().filter(|c| c["type"] != "null").collect();
                let pick = if useful.is_empty() || self.below(4) == 0 {
                    &choices[self.below(choices.len())]
                } else {
                    useful[self.below(useful.len())]
                };
                return self.value_at(pick, depth + 1);
            }
        }
        if let Some(parts) = schema["allOf"].as_array() {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(fields) = self.value_at(part, depth + 1) {
                    merged.extend(fields);
                }
            }
            return Value::Object(merged);
        }
        if let Some(choices) = schema["enum"].as_array() {
            return choices[self.below(choices.len())].clone();
        }
        if let Some(constant) = schema.get("const") {
            return constant.clone();
        }
        let kind = match &schema["type"] {
            Value::Array(kinds) => kinds
                .iter()
                .find(|k| *k != "null")
                .and_then(Value::as_str)
                .unwrap_or("null")
                .to_owned(),
            Value::String(kind) => kind.clone(),
            _ if schema.get("properties").is_some() => "object".into(),
            _ => "null".into(),
        };
        match kind.as_str() {
            "string" => json!(self.string(schema)),
            "integer" => json!(self.integer(schema)),
            "number" => json!(self.integer(schema) as f64 / 2.0),
            "boolean" => json!(self.chance()),
            "array" => {
                let min = schema["minItems"].as_u64().unwrap_or(0) as usize;
                let max = (schema["maxItems"].as_u64().unwrap_or(3) as usize)
                    .min(3)
                    .max(min);
                let count = if depth > 4 {
                    min
                } else {
                    min + self.below(max - min + 1)
                };
                Value::Array(
                    (0..count)
                        .map(|_| self.value_at(&schema["items"], depth + 1))
                        .collect(),
                )
            }
            "object" => {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut object = Map::new();
                if let Some(properties) = schema["properties"].as_object() {
                    for (name, property) in properties {
                        if required.contains(&name.as_str()) || (depth < 4 && self.chance()) {
                            object.insert(name.clone(), self.value_at(property, depth + 1));
                        }
                    }
                    // At least as many properties as the schema asks for.
                    let least = schema["minProperties"].as_u64().unwrap_or(0) as usize;
                    for (name, property) in properties {
                        if object.len() >= least {
                            break;
                        }
                        if !object.contains_key(name) {
                            object.insert(name.clone(), self.value_at(property, depth + 1));
                        }
                    }
                    // Properties that may not come together: drop the last of them.
                    if let Some(together) = schema["not"]["required"].as_array()
                        && together
                            .iter()
                            .filter_map(Value::as_str)
                            .all(|name| object.contains_key(name))
                        && let Some(last) = together.last().and_then(Value::as_str)
                    {
                        object.remove(last);
                    }
                    // A property that needs others brings them along.
                    if let Some(needs) = schema["dependentRequired"].as_object() {
                        for (present, wanted) in needs {
                            if !object.contains_key(present) {
                                continue;
                            }
                            for name in wanted
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                            {
                                if !object.contains_key(name) {
                                    object.insert(
                                        name.to_owned(),
                                        self.value_at(&properties[name], depth + 1),
                                    );
                                }
                            }
                        }
                    }
                }
                Value::Object(object)
            }
            _ => Value::Null,
        }
    }

    fn integer(&mut self, schema: &Value) -> i64 {
        let min = schema["minimum"].as_i64().unwrap_or(0);
        let max = schema["maximum"]
            .as_i64()
            .unwrap_or(min + 100)
            .min(min + 10_000);
        min + self.below((max - min + 1) as usize) as i64
    }

    fn string(&mut self, schema: &Value) -> String {
        let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
        let max = schema["maxLength"].as_u64().unwrap_or(40) as usize;
        match schema["format"].as_str() {
            Some("uuid") => {
                return format!("00000000-0000-4000-8000-{:012x}", self.below(1 << 20));
            }
            Some("date-time") => {
                self.minutes += 1 + self.below(60) as u32;
                let at = chrono::DateTime::from_timestamp(
                    1_796_000_000 + i64::from(self.minutes) * 60,
                    0,
                )
                .expect("a time in range");
                return at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            }
            _ => {}
        }
        let pattern = schema["pattern"].as_str().unwrap_or("[a-zA-Z0-9 ]*");
        let unanchored = pattern.trim_start_matches('^').trim_end_matches('$');
        let strategy = proptest::string::string_regex(unanchored)
            .unwrap_or_else(|e| panic!("pattern {pattern:?}: {e}"));
        for _ in 0..200 {
            let drawn = strategy
                .new_tree(&mut self.runner)
                .map(|tree| tree.current())
                .unwrap_or_default();
            let chars = drawn.chars().count();
            if (min..=max).contains(&chars) {
                return drawn;
            }
        }
        panic!("no string of {min}..={max} characters matching {pattern:?} in 200 draws")
    }
}
