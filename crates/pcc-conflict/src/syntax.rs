//! Parsing with tree-sitter: syntax diagnostics, declarations with their spans, and the file cut
//! into units (one per top-level declaration or statement, nested for classes, impls, traits,
//! interfaces, structs, enums and Go import blocks) that the declaration-level merge works on.
//!
//! Text between two units (blank lines, comments, attributes, decorators) belongs to the unit
//! that follows it: a doc comment travels with its function.

use std::collections::HashMap;
use std::ops::{ControlFlow, Range};

use tree_sitter::{Node, ParseOptions, Parser};

use crate::lang::Language;

/// How deep units nest (a class in a module in a namespace…); deeper bodies are leaves.
const MAX_NESTING: usize = 6;
/// At most this many syntax errors are reported per file.
const MAX_DIAGNOSTICS: usize = 20;
/// tree-sitter calls the progress callback about every 100 parse operations. A parse may spend
/// this many callbacks per byte of input plus a floor, then it is cancelled: a fixed budget
/// (no clock) that ordinary code stays far below and pathological input hits quickly.
const PARSE_CALLBACKS_PER_BYTE: usize = 4;
const PARSE_CALLBACKS_FLOOR: usize = 20_000;

/// What a declaration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeclKind {
    Function,
    Method,
    Class,
    Struct,
    Enum,
    Trait,
    Impl,
    Interface,
    TypeAlias,
    Const,
    Static,
    Variable,
    Import,
    Export,
    Module,
    Macro,
    Field,
}

impl DeclKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclKind::Function => "function",
            DeclKind::Method => "method",
            DeclKind::Class => "class",
            DeclKind::Struct => "struct",
            DeclKind::Enum => "enum",
            DeclKind::Trait => "trait",
            DeclKind::Impl => "impl",
            DeclKind::Interface => "interface",
            DeclKind::TypeAlias => "type",
            DeclKind::Const => "const",
            DeclKind::Static => "static",
            DeclKind::Variable => "variable",
            DeclKind::Import => "import",
            DeclKind::Export => "export",
            DeclKind::Module => "module",
            DeclKind::Macro => "macro",
            DeclKind::Field => "field",
        }
    }
}

/// A named declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    pub kind: DeclKind,
    pub name: String,
    /// The enclosing declaration's name (a method's class or impl), if nested.
    pub parent: Option<String>,
    /// Byte span of the declaration's node (without the comments before it).
    pub bytes: Range<usize>,
    /// 0-based line span, end-exclusive.
    pub lines: Range<usize>,
}

/// A syntax error: where the parser found an ERROR or MISSING node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based.
    pub line: usize,
    /// 1-based, in bytes.
    pub column: usize,
    pub message: String,
}

/// A piece of a file (or of a body) the declaration-level merge treats as one.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    /// Identity across versions: kind and name (`fn:parse`), or for an unnamed statement its
    /// whitespace-normalised text; repeated keys get `#2`, `#3`…
    pub key: String,
    pub decl: Option<(DeclKind, String)>,
    /// Bytes from the end of the previous unit (or of the body's opening) to the end of this one
    /// (with a following `,` or `;`).
    pub full: Range<usize>,
    /// 0-based lines of the node, end-exclusive.
    pub lines: Range<usize>,
    /// 0-based lines of the unit without the blank lines before it (so with its comments,
    /// attributes and decorators), end-exclusive.
    pub span_lines: Range<usize>,
    pub is_import: bool,
    /// For classes, impls and the like: their members.
    pub body: Option<Seq>,
}

/// A sequence of units with the text before the first (`head`) and after the last (`tail`).
#[derive(Clone, Debug)]
pub(crate) struct Seq {
    pub head: Range<usize>,
    pub units: Vec<Unit>,
    pub tail: Range<usize>,
}

/// A parsed version of a file.
#[derive(Clone, Debug)]
pub(crate) struct Syntax {
    pub diagnostics: Vec<Diagnostic>,
    /// 0-based line spans of the ERROR and MISSING nodes found.
    pub error_lines: Vec<Range<usize>>,
    pub seq: Seq,
    pub declarations: Vec<Declaration>,
}

/// Why a file was not parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ParseFailure {
    /// The grammar is not compiled in.
    Unsupported,
    /// The parse ran past its budget (pathological input) and was cancelled.
    Cancelled,
}

fn parser(lang: Language) -> Result<Parser, ParseFailure> {
    let grammar = lang.grammar().ok_or(ParseFailure::Unsupported)?;
    let mut p = Parser::new();
    p.set_language(&grammar).map_err(|_| ParseFailure::Unsupported)?;
    Ok(p)
}

fn parse_tree(lang: Language, text: &str) -> Result<tree_sitter::Tree, ParseFailure> {
    let mut p = parser(lang)?;
    let budget = PARSE_CALLBACKS_FLOOR + PARSE_CALLBACKS_PER_BYTE * text.len();
    let mut calls = 0usize;
    let mut progress = |_: &tree_sitter::ParseState| {
        calls += 1;
        if calls > budget { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let bytes = text.as_bytes();
    let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
    p.parse_with_options(&mut read, None, Some(ParseOptions::new().progress_callback(&mut progress)))
        .ok_or(ParseFailure::Cancelled)
}

/// Does `text` parse without ERROR or MISSING nodes? `None` when it could not be parsed at all.
pub(crate) fn parses_cleanly(lang: Language, text: &str) -> Option<bool> {
    parse_tree(lang, text).ok().map(|t| !t.root_node().has_error())
}

/// Parse one version of a file.
pub(crate) fn parse(lang: Language, text: &str) -> Result<Syntax, ParseFailure> {
    let tree = parse_tree(lang, text)?;
    let root = tree.root_node();
    let (diagnostics, error_lines) = if root.has_error() { errors(root) } else { (Vec::new(), Vec::new()) };
    let mut declarations = Vec::new();
    let seq = sequence(lang, text, root, 0, text.len(), None, 0, &mut declarations);
    Ok(Syntax { diagnostics, error_lines, seq, declarations })
}

/// The ERROR and MISSING nodes, walked without recursion (the tree may be deep), looking only
/// into subtrees that contain one.
fn errors(root: Node<'_>) -> (Vec<Diagnostic>, Vec<Range<usize>>) {
    let mut diagnostics = Vec::new();
    let mut lines = Vec::new();
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        let is_error = node.is_error() || node.is_missing();
        if is_error {
            let p = node.start_position();
            lines.push(p.row..node.end_position().row + 1);
            if diagnostics.len() < MAX_DIAGNOSTICS {
                let message =
                    if node.is_missing() { format!("missing {}", node.kind()) } else { "syntax error".to_string() };
                diagnostics.push(Diagnostic { line: p.row + 1, column: p.column + 1, message });
            }
            if lines.len() >= MAX_DIAGNOSTICS * 10 {
                break;
            }
        }
        if !is_error && node.has_error() && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    (diagnostics, lines)
}

fn is_trivia(kind: &str) -> bool {
    matches!(kind, "comment" | "line_comment" | "block_comment" | "attribute_item" | "decorator" | "html_comment")
}

fn text_of<'t>(text: &'t str, n: Node<'_>) -> &'t str {
    text.get(n.byte_range()).unwrap_or_default()
}

fn field_text<'t>(text: &'t str, n: Node<'_>, field: &str) -> Option<&'t str> {
    n.child_by_field_name(field).map(|c| text_of(text, c))
}

pub(crate) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a node declares: kind, name, the body whose members are units of their own, and
/// whether it is an import.
struct Described<'t> {
    decl: Option<(DeclKind, String)>,
    body: Option<Node<'t>>,
    is_import: bool,
}

fn describe<'t>(lang: Language, text: &str, n: Node<'t>, nested: bool) -> Described<'t> {
    let none = Described { decl: None, body: None, is_import: false };
    let named = |kind: DeclKind, field: &str| field_text(text, n, field).map(|name| (kind, name.to_string()));
    let import = Described { decl: Some((DeclKind::Import, squash(text_of(text, n)))), body: None, is_import: true };
    let body = n.child_by_field_name("body");
    let func = if nested { DeclKind::Method } else { DeclKind::Function };
    match lang {
        Language::TypeScript | Language::Tsx | Language::JavaScript => match n.kind() {
            "import_statement" => import,
            "export_statement" => {
                if let Some(d) = n.child_by_field_name("declaration") {
                    return describe(lang, text, d, nested);
                }
                let name = if n.child_by_field_name("value").is_some() {
                    "default".to_string()
                } else {
                    squash(text_of(text, n))
                };
                Described { decl: Some((DeclKind::Export, name)), body: None, is_import: false }
            }
            "ambient_declaration" => match n.named_child(0) {
                Some(inner) => describe(lang, text, inner, nested),
                None => none,
            },
            "function_declaration" | "generator_function_declaration" | "function_signature" => {
                Described { decl: named(func, "name"), body: None, is_import: false }
            }
            "class_declaration" | "abstract_class_declaration" | "class" => {
                Described { decl: named(DeclKind::Class, "name"), body, is_import: false }
            }
            "interface_declaration" => Described { decl: named(DeclKind::Interface, "name"), body, is_import: false },
            "type_alias_declaration" => {
                Described { decl: named(DeclKind::TypeAlias, "name"), body: None, is_import: false }
            }
            "enum_declaration" => Described { decl: named(DeclKind::Enum, "name"), body, is_import: false },
            "module" | "internal_module" => Described { decl: named(DeclKind::Module, "name"), body, is_import: false },
            "lexical_declaration" | "variable_declaration" => {
                let kind = if text_of(text, n).starts_with("const") { DeclKind::Const } else { DeclKind::Variable };
                let mut names = Vec::new();
                let mut c = n.walk();
                for d in n.named_children(&mut c) {
                    if d.kind() == "variable_declarator"
                        && let Some(name) = field_text(text, d, "name")
                    {
                        names.push(name);
                    }
                }
                if names.is_empty() {
                    none
                } else {
                    Described { decl: Some((kind, names.join(","))), body: None, is_import: false }
                }
            }
            "method_definition" | "method_signature" | "abstract_method_signature" => {
                Described { decl: named(DeclKind::Method, "name"), body: None, is_import: false }
            }
            "public_field_definition" | "field_definition" | "property_signature" => Described {
                decl: named(DeclKind::Field, "name").or_else(|| named(DeclKind::Field, "property")),
                body: None,
                is_import: false,
            },
            "enum_assignment" => Described { decl: named(DeclKind::Field, "name"), body: None, is_import: false },
            "property_identifier" if nested => {
                Described { decl: Some((DeclKind::Field, text_of(text, n).to_string())), body: None, is_import: false }
            }
            _ => none,
        },
        Language::Python => match n.kind() {
            "import_statement" | "import_from_statement" | "future_import_statement" => import,
            "function_definition" => Described { decl: named(func, "name"), body: None, is_import: false },
            "class_definition" => Described { decl: named(DeclKind::Class, "name"), body, is_import: false },
            "decorated_definition" => match n.child_by_field_name("definition") {
                Some(d) => describe(lang, text, d, nested),
                None => none,
            },
            "expression_statement" => match n.named_child(0) {
                Some(a) if a.kind() == "assignment" => match a.child_by_field_name("left") {
                    Some(l) if l.kind() == "identifier" => Described {
                        decl: Some((DeclKind::Variable, text_of(text, l).to_string())),
                        body: None,
                        is_import: false,
                    },
                    _ => none,
                },
                _ => none,
            },
            _ => none,
        },
        Language::Rust => match n.kind() {
            "use_declaration" | "extern_crate_declaration" => import,
            "function_item" | "function_signature_item" => {
                Described { decl: named(func, "name"), body: None, is_import: false }
            }
            "struct_item" | "union_item" => Described { decl: named(DeclKind::Struct, "name"), body, is_import: false },
            "enum_item" => Described { decl: named(DeclKind::Enum, "name"), body, is_import: false },
            "trait_item" => Described { decl: named(DeclKind::Trait, "name"), body, is_import: false },
            "impl_item" => {
                let ty = field_text(text, n, "type").map(squash).unwrap_or_default();
                let name = match field_text(text, n, "trait") {
                    Some(t) => format!("{} for {ty}", squash(t)),
                    None => ty,
                };
                Described { decl: Some((DeclKind::Impl, name)), body, is_import: false }
            }
            "type_item" | "associated_type" => {
                Described { decl: named(DeclKind::TypeAlias, "name"), body: None, is_import: false }
            }
            "const_item" => Described { decl: named(DeclKind::Const, "name"), body: None, is_import: false },
            "static_item" => Described { decl: named(DeclKind::Static, "name"), body: None, is_import: false },
            "mod_item" => Described { decl: named(DeclKind::Module, "name"), body, is_import: false },
            "macro_definition" => Described { decl: named(DeclKind::Macro, "name"), body: None, is_import: false },
            "field_declaration" | "enum_variant" => {
                Described { decl: named(DeclKind::Field, "name"), body: None, is_import: false }
            }
            _ => none,
        },
        Language::Go => match n.kind() {
            "import_declaration" => {
                let mut c = n.walk();
                let list = n.named_children(&mut c).find(|c| c.kind() == "import_spec_list");
                Described { decl: Some((DeclKind::Import, "import".into())), body: list, is_import: list.is_none() }
            }
            "import_spec" => import,
            "package_clause" => {
                Described { decl: Some((DeclKind::Module, "package".into())), body: None, is_import: false }
            }
            "function_declaration" => {
                Described { decl: named(DeclKind::Function, "name"), body: None, is_import: false }
            }
            "method_declaration" => {
                let receiver = n
                    .child_by_field_name("receiver")
                    .and_then(|r| r.named_child(0))
                    .and_then(|p| p.child_by_field_name("type"))
                    .map(|t| text_of(text, t).trim_start_matches('*').to_string())
                    .unwrap_or_default();
                match field_text(text, n, "name") {
                    Some(name) => Described {
                        decl: Some((DeclKind::Method, format!("{receiver}.{name}"))),
                        body: None,
                        is_import: false,
                    },
                    None => none,
                }
            }
            "type_declaration" => {
                let mut c = n.walk();
                let spec = n.named_children(&mut c).find(|c| matches!(c.kind(), "type_spec" | "type_alias"));
                match spec {
                    Some(s) => {
                        let kind = match s.child_by_field_name("type").map(|t| t.kind()) {
                            Some("struct_type") => DeclKind::Struct,
                            Some("interface_type") => DeclKind::Interface,
                            _ => DeclKind::TypeAlias,
                        };
                        match field_text(text, s, "name") {
                            Some(name) => {
                                Described { decl: Some((kind, name.to_string())), body: None, is_import: false }
                            }
                            None => none,
                        }
                    }
                    None => none,
                }
            }
            "const_declaration" | "var_declaration" => {
                let kind = if n.kind() == "const_declaration" { DeclKind::Const } else { DeclKind::Variable };
                let mut names = Vec::new();
                let mut c = n.walk();
                for s in n.named_children(&mut c) {
                    if let Some(name) = field_text(text, s, "name") {
                        names.push(name);
                    }
                }
                if names.is_empty() {
                    none
                } else {
                    Described { decl: Some((kind, names.join(","))), body: None, is_import: false }
                }
            }
            _ => none,
        },
    }
}

/// Cut the named children of `parent` between bytes `from` and `to` into units.
#[allow(clippy::too_many_arguments)]
fn sequence(
    lang: Language,
    text: &str,
    parent: Node<'_>,
    from: usize,
    to: usize,
    parent_name: Option<&str>,
    depth: usize,
    decls: &mut Vec<Declaration>,
) -> Seq {
    let mut units: Vec<Unit> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut head_end = from;
    // The row where the previous unit (or the opening) ends.
    let mut prev_row = parent.start_position().row;
    let mut cursor = parent.walk();
    let mut started = false;
    for child in parent.children(&mut cursor) {
        if !child.is_named() {
            let kind = child.kind();
            if !started && units.is_empty() && matches!(kind, "{" | "(" | ":") && child.start_byte() >= from {
                // The body's opening belongs to its head.
                head_end = child.end_byte();
                prev_row = child.end_position().row;
                continue;
            }
            if matches!(kind, "," | ";")
                && let Some(last) = units.last_mut()
                && text.get(last.full.end..child.start_byte()).is_some_and(|gap| gap.trim().is_empty())
            {
                last.full.end = child.end_byte();
                prev_row = child.end_position().row;
            }
            continue;
        }
        if is_trivia(child.kind()) {
            started = true;
            continue;
        }
        started = true;
        let start = units.last().map_or(head_end, |u| u.full.end);
        let d = describe(lang, text, child, parent_name.is_some());
        let node_text = text_of(text, child);
        let base_key = match &d.decl {
            Some((kind, name)) if !d.is_import => format!("{}:{name}", kind.as_str()),
            _ if d.is_import => format!("import:{}", squash(node_text)),
            _ => format!("stmt:{}", squash(node_text)),
        };
        let n = seen.entry(base_key.clone()).or_default();
        *n += 1;
        let key = if *n == 1 { base_key } else { format!("{base_key}#{n}") };
        let lines = child.start_position().row..child.end_position().row + 1;
        let lead = text.get(start..child.start_byte()).unwrap_or_default();
        let lead_rest = lead.trim_start();
        let skipped = &lead[..lead.len() - lead_rest.len()];
        let first_row = if units.is_empty() && start == 0 { 0 } else { prev_row };
        let span_start = (first_row + skipped.matches('\n').count()).min(lines.start);
        prev_row = child.end_position().row;
        if let Some((kind, name)) = &d.decl {
            decls.push(Declaration {
                kind: *kind,
                name: name.clone(),
                parent: parent_name.map(str::to_string),
                bytes: child.byte_range(),
                lines: lines.clone(),
            });
        }
        let body = match (d.body, &d.decl) {
            (Some(b), Some((_, name))) if depth < MAX_NESTING => {
                let inner = sequence(lang, text, b, b.start_byte(), child.end_byte(), Some(name), depth + 1, decls);
                // A body without members is just text.
                if inner.units.is_empty() { None } else { Some(inner) }
            }
            _ => None,
        };
        units.push(Unit {
            key,
            decl: d.decl,
            full: start..child.end_byte(),
            span_lines: span_start..lines.end,
            lines,
            is_import: d.is_import,
            body,
        });
    }
    let tail_start = units.last().map_or(head_end, |u| u.full.end);
    // The head of a body runs from the start of its unit; the caller fixes that up by using the
    // unit's full range, so here it starts at `from`.
    Seq { head: from..head_end, units, tail: tail_start.min(to)..to }
}

/// Give a side's units the keys of the base units they are versions of. Declarations match by
/// kind and name already; imports and unnamed statements are keyed by their text, so an edited
/// one would look like a deletion plus an addition. Here, between two units both versions share,
/// the side's unmatched imports and statements are paired in order with base's unmatched ones of
/// the same sort: they are the same statement, edited. Bodies of matched units are aligned too.
pub(crate) fn align(base: &Seq, side: &mut Seq) {
    let base_keys: HashMap<&str, usize> = base.units.iter().enumerate().map(|(i, u)| (u.key.as_str(), i)).collect();
    let side_keys: std::collections::HashSet<String> = side.units.iter().map(|u| u.key.clone()).collect();
    let pairable = |u: &Unit| u.decl.is_none() || u.is_import;
    let mut renames: Vec<(usize, String)> = Vec::new();
    let mut gap: Vec<usize> = Vec::new();
    let mut last_base: Option<usize> = None;
    let flush =
        |gap: &mut Vec<usize>, from: Option<usize>, to: usize, side: &Seq, renames: &mut Vec<(usize, String)>| {
            let start = from.map_or(0, |f| f + 1);
            let mut candidates: Vec<&Unit> = base
                .units
                .get(start..to)
                .unwrap_or_default()
                .iter()
                .filter(|u| pairable(u) && !side_keys.contains(&u.key))
                .collect();
            for &i in gap.iter() {
                let u = &side.units[i];
                if !pairable(u) {
                    continue;
                }
                if let Some(pos) = candidates.iter().position(|b| b.is_import == u.is_import) {
                    let b = candidates.remove(pos);
                    renames.push((i, b.key.clone()));
                }
            }
            gap.clear();
        };
    for (i, u) in side.units.iter().enumerate() {
        match base_keys.get(u.key.as_str()) {
            Some(&j) => {
                if last_base.is_none_or(|l| j > l) {
                    flush(&mut gap, last_base, j, side, &mut renames);
                    last_base = Some(j);
                } else {
                    gap.clear();
                }
            }
            None => gap.push(i),
        }
    }
    flush(&mut gap, last_base, base.units.len(), side, &mut renames);
    for (i, key) in renames {
        side.units[i].key = key;
    }
    for u in &mut side.units {
        if let (Some(&j), Some(body)) = (base_keys.get(u.key.as_str()), u.body.as_mut())
            && let Some(bb) = &base.units[j].body
        {
            align(bb, body);
        }
    }
}

/// Every import item of a parsed file (top-level imports and Go import specs), as 0-based line
/// spans.
pub(crate) fn import_items(seq: &Seq) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for u in &seq.units {
        if u.is_import {
            out.push(u.lines.clone());
        }
        if let Some(b) = &u.body
            && u.decl.as_ref().is_some_and(|(k, _)| *k == DeclKind::Import)
        {
            out.extend(b.units.iter().filter(|m| m.is_import).map(|m| m.lines.clone()));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn decls(lang: Language, src: &str) -> Vec<String> {
        let s = parse(lang, src).unwrap();
        s.declarations
            .iter()
            .map(|d| match &d.parent {
                Some(p) => format!("{} {p}::{} {}..{}", d.kind.as_str(), d.name, d.lines.start, d.lines.end),
                None => format!("{} {} {}..{}", d.kind.as_str(), d.name, d.lines.start, d.lines.end),
            })
            .collect()
    }

    /// Units cover the text exactly: head, units' full ranges and tail are contiguous.
    fn check_cover(seq: &Seq, from: usize, to: usize) {
        assert_eq!(seq.head.start, from);
        let mut pos = seq.head.end;
        for u in &seq.units {
            assert_eq!(u.full.start, pos, "unit {} starts where the previous ended", u.key);
            if let Some(b) = &u.body {
                assert!(b.head.start >= u.full.start);
                check_cover(b, b.head.start, u.full.end.min(b.tail.end));
            }
            pos = u.full.end;
        }
        assert_eq!(seq.tail.start, pos);
        assert_eq!(seq.tail.end, to);
    }

    #[test]
    fn typescript_declarations() {
        let src = "import { a } from './a';\n\n/** adds */\nexport function add(x: number) { return x; }\n\nexport default class Widget {\n  size = 1;\n  grow(): void {}\n}\ninterface Shape { area(): number; name: string }\ntype Id = string;\nenum Color { Red, Green }\nconst handler = () => 1, other = 2;\nexport { a as b };\nexport * from './c';\nconsole.log(1);\n";
        assert_eq!(
            decls(Language::TypeScript, src),
            vec![
                "import import { a } from './a'; 0..1",
                "function add 3..4",
                "class Widget 5..9",
                "field Widget::size 6..7",
                "method Widget::grow 7..8",
                "interface Shape 9..10",
                "method Shape::area 9..10",
                "field Shape::name 9..10",
                "type Id 10..11",
                "enum Color 11..12",
                "field Color::Red 11..12",
                "field Color::Green 11..12",
                "const handler,other 12..13",
                "export export { a as b }; 13..14",
                "export export * from './c'; 14..15",
            ]
        );
        let s = parse(Language::TypeScript, src).unwrap();
        assert!(s.diagnostics.is_empty());
        check_cover(&s.seq, 0, src.len());
        // The doc comment travels with the function that follows it.
        let add = &s.seq.units[1];
        assert!(src[add.full.clone()].contains("/** adds */"));
    }

    #[test]
    fn python_rust_go_declarations() {
        let py = "import os\nfrom a import b\n\nX = 1\n\n@dataclass\nclass A:\n    y: int = 0\n\n    def m(self):\n        pass\n\ndef f():\n    return 1\n\nprint(f())\n";
        assert_eq!(
            decls(Language::Python, py),
            vec![
                "import import os 0..1",
                "import from a import b 1..2",
                "variable X 3..4",
                "class A 5..11",
                "variable A::y 7..8",
                "method A::m 9..11",
                "function f 12..14"
            ]
        );
        let rs = "use std::fmt;\n\n/// doc\n#[derive(Debug)]\npub struct P { x: i32, y: i32 }\n\nimpl fmt::Display for P {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) }\n}\n\nconst N: usize = 3;\nfn main() {}\n";
        assert_eq!(
            decls(Language::Rust, rs),
            vec![
                "import use std::fmt; 0..1",
                "struct P 4..5",
                "field P::x 4..5",
                "field P::y 4..5",
                "impl fmt::Display for P 6..9",
                "method fmt::Display for P::fmt 7..8",
                "const N 10..11",
                "function main 11..12"
            ]
        );
        let s = parse(Language::Rust, rs).unwrap();
        check_cover(&s.seq, 0, rs.len());
        assert!(rs[s.seq.units[1].full.clone()].contains("/// doc\n#[derive(Debug)]"));
        let go = "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\ntype T struct{ a int }\n\nfunc (t *T) Run() {}\n\nfunc main() { fmt.Println(os.Args) }\n";
        assert_eq!(
            decls(Language::Go, go),
            vec![
                "module package 0..1",
                "import import 2..6",
                "import import::\"fmt\" 3..4",
                "import import::\"os\" 4..5",
                "struct T 7..8",
                "method T.Run 9..10",
                "function main 11..12"
            ]
        );
        let s = parse(Language::Go, go).unwrap();
        check_cover(&s.seq, 0, go.len());
        assert_eq!(import_items(&s.seq), vec![3..4, 4..5]);
    }

    #[test]
    fn syntax_errors_are_diagnostics_not_failures() {
        let s = parse(Language::Rust, "fn main( {\n").unwrap();
        assert!(!s.diagnostics.is_empty());
        assert_eq!(parses_cleanly(Language::Python, "def f(:\n"), Some(false));
        assert_eq!(parses_cleanly(Language::Go, "package x\n"), Some(true));
    }
}
