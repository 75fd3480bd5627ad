//! Helm values typed by a person: parsed as YAML with the place of the first error, and
//! checked against a chart's `values.schema.json` with each problem placed on the line of
//! the key it is about.

use model::values::ValuesProblem;
use serde_json::{Map, Value};

/// The most bytes of values the editor takes (a release Secret holds at most 1 MiB).
pub const MAX_VALUES_BYTES: usize = 512 * 1024;

/// The most schema problems reported at once.
const MAX_PROBLEMS: usize = 20;

/// `text` as values: empty for none, else a YAML mapping; the error says where it broke.
pub fn parse_values(text: &str) -> Result<Map<String, Value>, ValuesProblem> {
    if text.len() > MAX_VALUES_BYTES {
        return Err(ValuesProblem {
            line: None,
            column: None,
            message: format!(
                "values are {} bytes; at most {MAX_VALUES_BYTES} are taken",
                text.len()
            ),
        });
    }
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(ValuesProblem {
            line: Some(1),
            column: Some(1),
            message: format!(
                "values must be a mapping of keys to values, not {}",
                kind(&other)
            ),
        }),
        Err(error) => {
            let place = error.location();
            // serde_yaml appends " at line L column C" to its message; the place is kept apart.
            let message = error.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            Err(ValuesProblem {
                line: place.as_ref().map(|p| p.line()),
                column: place.as_ref().map(|p| p.column()),
                message,
            })
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null | Value::Object(_) => "a mapping",
    }
}

/// What `schema` rejects in `values`; `text` is what was typed, to place each problem.
pub fn schema_problems(
    schema: &Value,
    values: &Map<String, Value>,
    text: &str,
) -> Vec<ValuesProblem> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(validator) => validator,
        Err(error) => {
            return vec![ValuesProblem {
                line: None,
                column: None,
                message: format!("the chart's values.schema.json cannot be used: {error}"),
            }];
        }
    };
    let instance = Value::Object(values.clone());
    validator
        .iter_errors(&instance)
        .take(MAX_PROBLEMS)
        .map(|error| {
            let pointer = error.instance_path().to_string();
            let path: Vec<String> = pointer
                .split('/')
                .skip(1)
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect();
            let line = line_of(text, &path);
            let at = if pointer.is_empty() {
                String::new()
            } else {
                format!("{pointer}: ")
            };
            ValuesProblem {
                line,
                column: line.map(|_| 1),
                message: format!("{at}{error}"),
            }
        })
        .collect()
}

/// The line of the deepest key of `path` found in block-style YAML (list indexes are
/// skipped: the problem is placed on the list's key).
fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let mut found = None;
    let mut from = 0;
    let mut indent: Option<usize> = None;
    for key in path.iter().filter(|k| k.parse::<usize>().is_err()) {
        let hit = text.lines().enumerate().skip(from).find_map(|(n, line)| {
            let depth = line.len() - line.trim_start().len();
            let deeper = indent.is_none_or(|i| depth > i);
            let trimmed = line.trim_start().trim_start_matches("- ");
            let matches = [key.clone(), format!("\"{key}\""), format!("'{key}'")]
                .iter()
                .any(|k| {
                    trimmed
                        .strip_prefix(k.as_str())
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
                });
            (deeper && matches).then_some((n, depth))
        });
        match hit {
            Some((n, depth)) => {
                found = Some(n + 1);
                from = n + 1;
                indent = Some(depth);
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_errors_have_a_place() {
        let problem = parse_values("a: 1\nb: [unclosed\nc: 2\n").expect_err("broken");
        assert_eq!(problem.line, Some(3), "{problem}");
        assert!(problem.column.is_some());
        assert!(!problem.message.contains(" at line "), "{problem}");
        let problem = parse_values("- a\n- b\n").expect_err("a list");
        assert!(problem.message.contains("not a list"), "{problem}");
        assert_eq!(parse_values("  \n").expect("empty"), Map::new());
        assert_eq!(parse_values("x: 1").expect("map")["x"], 1);
        let huge = "a: ".to_owned() + &"x".repeat(MAX_VALUES_BYTES);
        assert!(
            parse_values(&huge)
                .expect_err("too big")
                .message
                .contains("at most")
        );
    }

    #[test]
    fn schema_problems_point_at_their_keys() {
        let schema = json!({ "type": "object", "properties": {
            "greeting": { "type": "string" },
            "service": { "type": "object", "properties": { "port": { "type": "integer", "maximum": 65535 } } } },
            "required": ["greeting"] });
        let text = "service:\n  name: web\n  port: 70000\ngreeting: 5\n";
        let values = parse_values(text).expect("yaml");
        let problems = schema_problems(&schema, &values, text);
        let placed: Vec<_> = problems
            .iter()
            .map(|p| (p.line, p.message.clone()))
            .collect();
        assert_eq!(problems.len(), 2, "{placed:?}");
        assert!(
            placed
                .iter()
                .any(|(line, m)| *line == Some(3) && m.starts_with("/service/port: ")),
            "{placed:?}"
        );
        assert!(
            placed
                .iter()
                .any(|(line, m)| *line == Some(4) && m.contains("string")),
            "{placed:?}"
        );
        let missing = schema_problems(&schema, &Map::new(), "");
        assert_eq!(missing.len(), 1);
        assert!(missing[0].message.contains("greeting"), "{:?}", missing[0]);
        assert!(
            schema_problems(
                &schema,
                &parse_values("greeting: hi").expect("yaml"),
                "greeting: hi"
            )
            .is_empty()
        );
    }
}
