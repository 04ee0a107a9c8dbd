//! Limits of a GraphQL document, checked in time linear in its text before
//! the executor sees it: how deep its brackets nest (the parser and the
//! executor recurse on nested values and selections), how many aliases it
//! has, and how many fields it selects with every fragment spread expanded
//! (a fragment spread twice in one spread twice in another doubles at each
//! level: thirty such levels are a billion fields in a 1 KB document, and
//! the executor's depth and complexity checks expand them all).

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};

/// Brackets (`{`, `[`, `(`) open at once, anywhere in the document.
pub const MAX_NESTING: usize = 128;
/// Aliased fields in one document.
pub const MAX_ALIASES: usize = 64;
/// Selections (fields, spreads, inline fragments) one document makes with
/// every fragment spread expanded.
pub const MAX_FIELDS: usize = 10_000;

/// Why a document is refused (always `LIMIT_EXCEEDED`), or `Ok` when the
/// executor may have it (syntax and validation errors are its to report).
pub fn check(query: &str) -> Result<(), String> {
    if nesting(query) > MAX_NESTING {
        return Err(format!(
            "the document nests brackets more than {MAX_NESTING} deep"
        ));
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return Ok(());
    };
    if aliases(&doc) > MAX_ALIASES {
        return Err(format!("at most {MAX_ALIASES} aliases per document"));
    }
    let fields = expanded_fields(&doc)?;
    if fields > MAX_FIELDS {
        return Err(format!(
            "the document makes {fields} selections with its fragments expanded; at most {MAX_FIELDS}"
        ));
    }
    Ok(())
}

/// The deepest nesting of brackets outside strings and comments.
fn nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string ends at the next `"""` not escaped as `\"""`.
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Aliased fields as written (each fragment counted once).
fn aliases(doc: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + walk(&f.node.selection_set.node)
                }
                Selection::InlineFragment(i) => walk(&i.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    operations(doc)
        .map(walk)
        .chain(
            doc.fragments
                .values()
                .map(|f| walk(&f.node.selection_set.node)),
        )
        .sum()
}

fn operations(doc: &ExecutableDocument) -> Box<dyn Iterator<Item = &SelectionSet> + '_> {
    match &doc.operations {
        DocumentOperations::Single(op) => Box::new(std::iter::once(&op.node.selection_set.node)),
        DocumentOperations::Multiple(ops) => {
            Box::new(ops.values().map(|op| &op.node.selection_set.node))
        }
    }
}

/// Selections (fields, fragment spreads, inline fragments) the operations
/// make with spreads expanded, each fragment's size computed once. Walks
/// at most [`MAX_NESTING`] selections deep, spreads included, so the walk
/// itself is bounded; a fragment that spreads itself, directly or not, is
/// refused (the executor would expand it until its depth limit), and a
/// spread of a fragment that is not defined counts one (the executor
/// reports it).
fn expanded_fields(doc: &ExecutableDocument) -> Result<usize, String> {
    enum State {
        Visiting,
        Done(usize),
    }
    struct Walk<'a> {
        fragments: &'a HashMap<async_graphql::Name, async_graphql::Positioned<FragmentDefinition>>,
        sizes: HashMap<&'a str, State>,
    }
    impl<'a> Walk<'a> {
        fn set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<usize, String> {
            if depth > MAX_NESTING {
                return Err(format!(
                    "the document nests selections and fragment spreads more than {MAX_NESTING} deep"
                ));
            }
            let mut total = 0usize;
            for item in &set.items {
                let inner = match &item.node {
                    Selection::Field(f) => self.set(&f.node.selection_set.node, depth + 1)?,
                    Selection::InlineFragment(i) => {
                        self.set(&i.node.selection_set.node, depth + 1)?
                    }
                    Selection::FragmentSpread(s) => {
                        self.fragment(s.node.fragment_name.node.as_str(), depth + 1)?
                    }
                };
                total = total.saturating_add(1).saturating_add(inner);
            }
            Ok(total)
        }
        fn fragment(&mut self, name: &'a str, depth: usize) -> Result<usize, String> {
            match self.sizes.get(name) {
                Some(State::Done(n)) => return Ok(*n),
                Some(State::Visiting) => {
                    return Err(format!("fragment {name} spreads itself"));
                }
                None => {}
            }
            let Some(def) = self.fragments.get(name) else {
                return Ok(0);
            };
            self.sizes.insert(name, State::Visiting);
            let n = self.set(&def.node.selection_set.node, depth)?;
            self.sizes.insert(name, State::Done(n));
            Ok(n)
        }
    }
    let mut walk = Walk {
        fragments: &doc.fragments,
        sizes: HashMap::new(),
    };
    let mut total = 0usize;
    for set in operations(doc) {
        total = total.saturating_add(walk.set(set, 0)?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_nest_outside_strings_and_comments_only() {
        assert_eq!(nesting("{ me { org } }"), 2);
        assert_eq!(nesting("{ a(x: [[1]]) }"), 4);
        assert_eq!(nesting("{ a(x: \"{{{{[[[\") }"), 2);
        assert_eq!(nesting("{ a(x: \"\\\"{{{\") }"), 2);
        assert_eq!(nesting("# {{{{\n{ a }"), 1);
        assert_eq!(nesting("{ a(x: \"\"\" {{{ \\\"\"\" {{ \"\"\") }"), 2);
        let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(200), "]".repeat(200));
        assert!(check(&deep).unwrap_err().contains("nests brackets"));
        let ok = format!("{{ a(x: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        assert_eq!(check(&ok), Ok(()));
    }

    #[test]
    fn fragments_count_every_time_they_are_spread() {
        // 30 levels of doubling: 2^30 fields in under 1 KB, found at once.
        let mut doc = String::from("query { ...F1 }\n");
        for i in 1..30 {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str("fragment F30 on Query { me { org } }\n");
        assert!(doc.len() < 2048);
        let e = check(&doc).unwrap_err();
        assert!(e.contains("selections with its fragments expanded"), "{e}");
        // Ten levels: 512 copies of F10's two fields, with the spreads
        // that make them (2 + 4 + … + 512 + 1 for the operation's), answered.
        let mut doc = String::from("query { ...F1 }\n");
        for i in 1..10 {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str("fragment F10 on Query { me { org } }\n");
        let parsed = async_graphql::parser::parse_query(&doc).unwrap();
        assert_eq!(expanded_fields(&parsed), Ok(512 * 2 + 1022 + 1));
        assert_eq!(check(&doc), Ok(()));
        // The same chain ending in a fragment that is not defined counts
        // its spreads.
        let mut doc = String::from("query { ...F1 }\n");
        for i in 1..31 {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str("fragment F31 on Query { ...Nope }\n");
        assert!(check(&doc).is_err());
        // A chain of spreads deeper than the nesting limit is refused
        // without recursing down it.
        let mut doc = String::from("query { ...F0 }\n");
        for i in 0..10_000 {
            doc.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        assert!(check(&doc).unwrap_err().contains("more than 128 deep"));
        // A cycle is refused, not expanded.
        let e = check("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
            .unwrap_err();
        assert!(e.contains("spreads itself"), "{e}");
    }

    #[test]
    fn aliases_are_counted_through_fragments() {
        let many: Vec<String> = (0..65).map(|i| format!("a{i}: me {{ org }}")).collect();
        let doc = format!("{{ ...F }} fragment F on Query {{ {} }}", many.join(" "));
        assert!(check(&doc).unwrap_err().contains("aliases"));
    }
}
