//! Languages: which grammar a path gets, and how that language writes a line comment.

/// A language parsed with tree-sitter. Each grammar is behind a cargo feature of the same name
/// (all on by default); with a feature off, its files fall back to line analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    TypeScript,
    Tsx,
    JavaScript,
    Python,
    Rust,
    Go,
}

impl Language {
    /// The language of a file, by its extension (case-insensitive).
    pub fn from_path(path: &str) -> Option<Language> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "py" | "pyi" => Language::Python,
            "rs" => Language::Rust,
            "go" => Language::Go,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::JavaScript => "javascript",
            Language::Python => "python",
            Language::Rust => "rust",
            Language::Go => "go",
        }
    }

    /// The grammar, when its feature is compiled in.
    pub(crate) fn grammar(self) -> Option<tree_sitter::Language> {
        match self {
            #[cfg(feature = "typescript")]
            Language::TypeScript => Some(tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()),
            #[cfg(feature = "typescript")]
            Language::Tsx => Some(tree_sitter_typescript::LANGUAGE_TSX.into()),
            #[cfg(feature = "javascript")]
            Language::JavaScript => Some(tree_sitter_javascript::LANGUAGE.into()),
            #[cfg(feature = "python")]
            Language::Python => Some(tree_sitter_python::LANGUAGE.into()),
            #[cfg(feature = "rust")]
            Language::Rust => Some(tree_sitter_rust::LANGUAGE.into()),
            #[cfg(feature = "go")]
            Language::Go => Some(tree_sitter_go::LANGUAGE.into()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Is this language's grammar compiled in?
    pub fn is_supported(self) -> bool {
        self.grammar().is_some()
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a file of this path writes a line comment, for annotations a human will read; `None`
/// when we cannot tell (then annotations are not written as comments).
pub(crate) fn line_comment(path: &str) -> Option<&'static str> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path).to_ascii_lowercase();
    if matches!(name.as_str(), "makefile" | "dockerfile" | "gemfile" | "rakefile" | ".gitignore" | ".env") {
        return Some("#");
    }
    let ext = name.rsplit_once('.')?.1;
    Some(match ext {
        "ts" | "mts" | "cts" | "tsx" | "js" | "mjs" | "cjs" | "jsx" | "rs" | "go" | "c" | "h" | "cc" | "cpp"
        | "hpp" | "java" | "kt" | "kts" | "swift" | "cs" | "scala" | "dart" | "php" | "proto" | "zig" => "//",
        "py" | "pyi" | "rb" | "sh" | "bash" | "zsh" | "fish" | "yaml" | "yml" | "toml" | "pl" | "r" | "ex" | "exs"
        | "nix" | "cmake" | "conf" | "ini" | "tf" => "#",
        "sql" | "lua" | "hs" | "elm" => "--",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn extensions_pick_the_grammar() {
        assert_eq!(Language::from_path("src/a.ts"), Some(Language::TypeScript));
        assert_eq!(Language::from_path("src/App.TSX"), Some(Language::Tsx));
        assert_eq!(Language::from_path("x/y.mjs"), Some(Language::JavaScript));
        assert_eq!(Language::from_path("w.jsx"), Some(Language::JavaScript));
        assert_eq!(Language::from_path("a.py"), Some(Language::Python));
        assert_eq!(Language::from_path("lib.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("main.go"), Some(Language::Go));
        assert_eq!(Language::from_path("README.md"), None);
        assert_eq!(Language::from_path("Makefile"), None);
        assert_eq!(Language::from_path("dir.ts/file"), None);
    }

    #[test]
    fn every_default_grammar_loads() {
        for l in
            [Language::TypeScript, Language::Tsx, Language::JavaScript, Language::Python, Language::Rust, Language::Go]
        {
            let grammar = l.grammar().unwrap_or_else(|| panic!("{l} not compiled in"));
            let mut parser = tree_sitter::Parser::new();
            assert!(parser.set_language(&grammar).is_ok(), "{l} grammar ABI not accepted");
        }
    }

    #[test]
    fn comment_syntax_by_path() {
        assert_eq!(line_comment("a/b.rs"), Some("//"));
        assert_eq!(line_comment("conf.yaml"), Some("#"));
        assert_eq!(line_comment("Makefile"), Some("#"));
        assert_eq!(line_comment("notes.md"), None);
        assert_eq!(line_comment("noext"), None);
    }
}
