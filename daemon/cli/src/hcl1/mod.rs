//! HCL 1 as `hashicorp/hcl` v1 reads and prints it, for `policy fmt`: the scanner, the
//! parser (with its comment attachment and error texts, plus OpenBao's rejection of
//! duplicate attributes when formatting) and the printer (`printer.Format`).
//!
//! Only what bao's `policy fmt` exercises is here; HCL 2 syntax is not accepted, as in bao.

mod parser;
mod printer;
mod scanner;

pub(crate) use parser::parse;
pub(crate) use printer::format;

/// A position: byte offset, 1-based line and column (in characters). Line 0 is "no
/// position" (Go's invalid `token.Pos`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub(crate) fn is_valid(&self) -> bool {
        self.line > 0
    }

    /// Go's `Pos.Before`.
    fn before(&self, u: &Pos) -> bool {
        u.offset > self.offset || u.line > self.line
    }

    /// Go's `Pos.After`.
    fn after(&self, u: &Pos) -> bool {
        u.offset < self.offset || u.line < self.line
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Token types, named as Go's `token.Type.String()` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    Illegal,
    Eof,
    Comment,
    Ident,
    Number,
    Float,
    Bool,
    String,
    Heredoc,
    LBrack,
    LBrace,
    Comma,
    Period,
    RBrack,
    RBrace,
    Assign,
    Add,
    Sub,
}

impl std::fmt::Display for TokenType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            TokenType::Illegal => "ILLEGAL",
            TokenType::Eof => "EOF",
            TokenType::Comment => "COMMENT",
            TokenType::Ident => "IDENT",
            TokenType::Number => "NUMBER",
            TokenType::Float => "FLOAT",
            TokenType::Bool => "BOOL",
            TokenType::String => "STRING",
            TokenType::Heredoc => "HEREDOC",
            TokenType::LBrack => "LBRACK",
            TokenType::LBrace => "LBRACE",
            TokenType::Comma => "COMMA",
            TokenType::Period => "PERIOD",
            TokenType::RBrack => "RBRACK",
            TokenType::RBrace => "RBRACE",
            TokenType::Assign => "ASSIGN",
            TokenType::Add => "ADD",
            TokenType::Sub => "SUB",
        };
        f.write_str(s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub typ: TokenType,
    pub pos: Pos,
    /// The token as written (strings keep their quotes).
    pub text: String,
}

impl Token {
    /// Go's `Token.Value()` for keys and strings: the unquoted text (identifiers as they are).
    pub(crate) fn value(&self) -> String {
        match self.typ {
            TokenType::String => unquote(&self.text),
            TokenType::Heredoc => heredoc_value(&self.text),
            _ => self.text.clone(),
        }
    }
}

/// A quoted HCL string's value (escapes resolved; malformed input kept as written).
fn unquote(s: &str) -> String {
    let inner = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(s);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(d @ ('u' | 'U' | 'x')) => {
                let n = match d {
                    'u' => 4,
                    'U' => 8,
                    _ => 2,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push('\\');
                        out.push(d);
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A heredoc's body: the lines between the anchor lines (indented heredocs unindented).
fn heredoc_value(s: &str) -> String {
    let Some((anchor, body)) = s.split_once('\n') else {
        return String::new();
    };
    let mut lines: Vec<&str> = body.split_inclusive('\n').collect();
    lines.pop();
    let text: String = lines.concat();
    if anchor.starts_with("<<-") {
        let indent =
            lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
        return lines.iter().map(|l| l.get(indent..).unwrap_or(l.trim_start())).collect();
    }
    text
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    pub start: Pos,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommentGroup {
    pub list: Vec<Comment>,
}

impl CommentGroup {
    fn pos(&self) -> Pos {
        self.list.first().map(|c| c.start).unwrap_or_default()
    }
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Literal(LiteralType),
    List(ListType),
    Object(ObjectType),
}

impl Node {
    pub(crate) fn pos(&self) -> Pos {
        match self {
            Node::Literal(l) => l.token.pos,
            Node::List(l) => l.lbrack,
            Node::Object(o) => o.lbrace,
        }
    }

    /// Go's `%T` of the node, for decode errors.
    pub(crate) fn go_type(&self) -> &'static str {
        match self {
            Node::Literal(_) => "*ast.LiteralType",
            Node::List(_) => "*ast.ListType",
            Node::Object(_) => "*ast.ObjectType",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiteralType {
    pub token: Token,
    /// Indexes into the file's comment groups.
    pub lead_comment: Option<usize>,
    pub line_comment: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListType {
    pub lbrack: Pos,
    pub rbrack: Pos,
    pub list: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectType {
    pub lbrace: Pos,
    pub rbrace: Pos,
    pub list: ObjectList,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ObjectList {
    pub items: Vec<ObjectItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectItem {
    pub keys: Vec<Token>,
    /// The `=` (invalid for blocks).
    pub assign: Pos,
    pub val: Node,
    pub lead_comment: Option<usize>,
    pub line_comment: Option<usize>,
}

impl ObjectItem {
    pub(crate) fn pos(&self) -> Pos {
        self.keys.first().map(|k| k.pos).unwrap_or_default()
    }
}

/// A parsed file: its top-level items and every comment group, in source order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct File {
    pub node: ObjectList,
    pub comments: Vec<CommentGroup>,
}

/// A parse failure, in Go's words (`At L:C: ...` for positioned errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
