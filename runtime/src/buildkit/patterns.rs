//! The patterns of `.dockerignore`, as BuildKit sends them with a request for a folder
//! (`exclude-patterns`, `include-patterns`), matched as Docker matches them: each pattern is a
//! cleaned path whose `*` and `?` stay within one path component, `[...]` is a class, `\`
//! escapes, and `**` spans any number of components; a pattern starting with `!` makes an
//! exception. A path matches when the last pattern that matches it, or one of its parent
//! folders, is not an exception.

/// A list of patterns, in the order given.
#[derive(Debug, Clone)]
pub(crate) struct PatternSet {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    exception: bool,
    /// The pattern as cleaned, without its `!`.
    text: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `*`: any characters but `/`.
    Star,
    /// `?`: one character but `/`.
    AnyOne,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**/` or `**` inside a pattern: nothing, or anything ending in `/`.
    AnyFolders,
    /// `**` at the end: anything at all.
    AnyTail,
}

impl PatternSet {
    /// Reads `lines`; blank ones are skipped. A lone `!` or an unclosed `[` is an error naming the
    /// pattern.
    pub(crate) fn new(lines: &[String]) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for line in lines {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let cleaned = clean_path(trimmed);
            let (exception, text) = match cleaned.strip_prefix('!') {
                Some("") => return Err(format!("the pattern {line:?} excepts nothing")),
                Some(rest) => (true, rest.to_owned()),
                None => (false, cleaned),
            };
            let tokens = tokenize(&text).map_err(|problem| format!("the pattern {line:?} {problem}"))?;
            patterns.push(Pattern {
                exception,
                text,
                tokens,
            });
        }
        Ok(PatternSet { patterns })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is an exception (`!...`), which can bring back a path inside a
    /// folder that another pattern matches.
    pub(crate) fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|pattern| pattern.exception)
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let mut matched = false;
        for pattern in &self.patterns {
            // An exception can only undo a match, and a pattern only make one.
            if pattern.exception != matched {
                continue;
            }
            let hit = pattern.matches(path) || parents(path).any(|parent| pattern.matches(parent));
            if hit {
                matched = !pattern.exception;
            }
        }
        matched
    }

    /// Whether something inside the folder `dir` could match a pattern that is not an
    /// exception (`exceptions` false) or an exception (true). `None` when a pattern has wildcards
    /// before its end, which only a walk can answer.
    pub(crate) fn could_match_inside(&self, dir: &str, exceptions: bool) -> Option<bool> {
        let prefix = format!("{dir}/");
        let mut any = false;
        for pattern in self.patterns.iter().filter(|pattern| pattern.exception == exceptions) {
            let literal = literal_prefix(&pattern.text)?;
            any |= format!("{literal}/").starts_with(&prefix);
        }
        Some(any)
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let text: Vec<char> = path.chars().collect();
        match_tokens(&self.tokens, &text)
    }
}

/// `a/b/c` → `a`, `a/b`.
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

/// The pattern without a trailing `/**` or `/*`, if what is left has no wildcard.
fn literal_prefix(text: &str) -> Option<&str> {
    let trimmed = text
        .strip_suffix("/**")
        .or_else(|| text.strip_suffix("/*"))
        .unwrap_or(text);
    (!trimmed.contains(['*', '?', '[', ']', '\\', '^'])).then_some(trimmed)
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        match c {
            '*' if chars.get(at) == Some(&'*') => {
                at += 1;
                if chars.get(at) == Some(&'/') {
                    at += 1;
                }
                tokens.push(if at == chars.len() {
                    Token::AnyTail
                } else {
                    Token::AnyFolders
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::AnyOne),
            '\\' => match chars.get(at) {
                Some(&escaped) => {
                    at += 1;
                    tokens.push(Token::Literal(escaped));
                }
                None => return Err("ends in an escape with nothing to escape".into()),
            },
            '[' => {
                let negated = matches!(chars.get(at), Some('^') | Some('!'));
                if negated {
                    at += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    let Some(&first) = chars.get(at) else {
                        return Err("opens a [class] it does not close".into());
                    };
                    at += 1;
                    if first == ']' && !ranges.is_empty() {
                        break;
                    }
                    let low = if first == '\\' {
                        let escaped = *chars.get(at).ok_or("ends inside a [class]")?;
                        at += 1;
                        escaped
                    } else {
                        first
                    };
                    if chars.get(at) == Some(&'-') && chars.get(at + 1).is_some_and(|&c| c != ']') {
                        let high = chars[at + 1];
                        at += 2;
                        ranges.push((low, high));
                    } else {
                        ranges.push((low, low));
                    }
                }
                tokens.push(Token::Class { negated, ranges });
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    Ok(tokens)
}

fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match token {
        Token::Literal(c) => text.first() == Some(c) && match_tokens(rest, &text[1..]),
        Token::AnyOne => text.first().is_some_and(|&c| c != '/') && match_tokens(rest, &text[1..]),
        Token::Class { negated, ranges } => {
            text.first().is_some_and(|&c| {
                let inside = ranges.iter().any(|&(low, high)| low <= c && c <= high);
                c != '/' && inside != *negated
            }) && match_tokens(rest, &text[1..])
        }
        Token::Star => {
            let mut at = 0;
            loop {
                if match_tokens(rest, &text[at..]) {
                    return true;
                }
                if at == text.len() || text[at] == '/' {
                    return false;
                }
                at += 1;
            }
        }
        Token::AnyFolders => {
            if match_tokens(rest, text) {
                return true;
            }
            (0..text.len()).any(|at| text[at] == '/' && match_tokens(rest, &text[at + 1..]))
        }
        Token::AnyTail => true,
    }
}

/// A path cleaned as Go's `filepath.Clean` cleans it: repeated `/` folded, `.` elements
/// dropped, `..` resolved against what precedes it, no trailing `/`.
pub(crate) fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> PatternSet {
        PatternSet::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn stars_stay_within_a_component_and_double_stars_span_folders() {
        let patterns = set(&["*.log"]);
        assert!(patterns.matches("debug.log"));
        assert!(!patterns.matches("logs/debug.log"));
        let anywhere = set(&["**/*.log"]);
        assert!(anywhere.matches("debug.log"));
        assert!(anywhere.matches("a/b/debug.log"));
        let inside = set(&["a/**/z"]);
        assert!(inside.matches("a/z"));
        assert!(inside.matches("a/b/c/z"));
        assert!(!inside.matches("b/z"));
        assert!(set(&["build/**"]).matches("build/x/y"));
        assert!(set(&["file?.txt"]).matches("file1.txt"));
        assert!(!set(&["file?.txt"]).matches("file/.txt"));
    }

    #[test]
    fn a_folder_pattern_covers_what_is_inside_it() {
        let patterns = set(&["node_modules"]);
        assert!(patterns.matches("node_modules"));
        assert!(patterns.matches("node_modules/x/index.js"));
        assert!(!patterns.matches("src/node_modules_list"));
    }

    #[test]
    fn the_last_matching_pattern_wins_and_exceptions_bring_paths_back() {
        let patterns = set(&["*.md", "!README.md", "secret/", "!secret/keep"]);
        assert!(patterns.matches("CHANGES.md"));
        assert!(!patterns.matches("README.md"));
        assert!(patterns.matches("secret/key"));
        assert!(!patterns.matches("secret/keep"));
        assert!(patterns.has_exceptions());
        let again = set(&["!README.md", "*.md"]);
        assert!(again.matches("README.md"));
    }

    #[test]
    fn classes_escapes_and_cleaning() {
        let patterns = set(&["[a-c]?.txt", "data\\*", "./tmp//cache/"]);
        assert!(patterns.matches("b1.txt"));
        assert!(!patterns.matches("d1.txt"));
        assert!(patterns.matches("data*"));
        assert!(!patterns.matches("datafile"));
        assert!(patterns.matches("tmp/cache/x"));
        assert!(set(&["[^a]x"]).matches("bx"));
        assert!(!set(&["[^a]x"]).matches("ax"));
    }

    #[test]
    fn malformed_patterns_are_refused_by_name() {
        let error = PatternSet::new(&["!".to_owned()]).unwrap_err();
        assert!(error.contains("\"!\""), "{error}");
        let error = PatternSet::new(&["a[bc".to_owned()]).unwrap_err();
        assert!(error.contains("a[bc") && error.contains("close"), "{error}");
    }

    #[test]
    fn literal_prefixes_tell_which_folders_need_a_walk() {
        let patterns = set(&["Dockerfile", "sub/Dockerfile.dockerignore"]);
        assert_eq!(patterns.could_match_inside("sub", false), Some(true));
        assert_eq!(patterns.could_match_inside("other", false), Some(false));
        assert_eq!(set(&["**/x"]).could_match_inside("other", false), None);
    }

    #[test]
    fn paths_clean_as_go_cleans_them() {
        assert_eq!(clean_path("a//b/./c/"), "a/b/c");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path("/../a"), "/a");
        assert_eq!(clean_path("./"), ".");
    }
}
