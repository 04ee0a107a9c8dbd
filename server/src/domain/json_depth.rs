//! How deep a JSON value nests: the limit capture holds every value to,
//! measured without recursion.

use serde_json::Value;

/// How deep a field's value may nest arrays and objects (docs/ledger-format.md):
/// well inside what every JSON reader takes (serde_json stops at 128).
pub const MAX_VALUE_DEPTH: usize = 32;

/// The nesting of a value: 0 for a scalar, one more than its deepest member
/// for an array or object. Walked without recursion, so that no value can
/// exhaust the stack.
pub fn nesting(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let members: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(members.map(|m| (m, depth + 1)));
    }
    deepest
}
