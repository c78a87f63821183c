//! A reader for HCL version 1 and for the JSON form of it, producing the same tree for both.
//!
//! OpenBao parses policies with HashiCorp's HCL 1 library, not HCL 2: it accepts several
//! attributes on one line (`path "a" { capabilities = ["read"] policy = "read" }`), commas between
//! attributes, `allowed_parameters { "*" = [] }` with quoted keys, and it reports syntax errors as
//! `At LINE:COL: message`. HCL 2 parsers (hcl-rs) reject the first forms and word errors
//! differently, so this module follows HCL 1's grammar, token names and error positions instead.
//! Positions count lines from 1 and columns in characters from 1, as HCL 1 does.

use std::fmt;

/// A source position. `line == 0` is HCL 1's invalid position, printed as `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str("-")
        } else {
            write!(f, "{}:{}", self.line, self.col)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LitKind {
    Number,
    Float,
    Bool,
    String,
    Heredoc,
    Null,
}

/// A literal: strings hold their decoded value, numbers and booleans their source text.
#[derive(Debug, Clone)]
pub(crate) struct Lit {
    pub kind: LitKind,
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Lit(Lit),
    List { items: Vec<Node>, pos: Pos },
    Object { items: Vec<Item>, pos: Pos },
}

impl Node {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Lit(l) => l.pos,
            Node::List { pos, .. } | Node::Object { pos, .. } => *pos,
        }
    }

    /// The Go type name HCL 1 puts into its decode errors.
    pub fn go_type(&self) -> &'static str {
        match self {
            Node::Lit(_) => "*ast.LiteralType",
            Node::List { .. } => "*ast.ListType",
            Node::Object { .. } => "*ast.ObjectType",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub value: String,
    pub pos: Pos,
}

/// `keys... = val` or `keys... { ... }`.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub keys: Vec<Key>,
    /// Where `=` (or `:` in JSON) stood; invalid for block items.
    pub assign: Pos,
    pub val: Node,
}

impl Item {
    pub fn pos(&self) -> Pos {
        self.keys.first().map(|k| k.pos).unwrap_or_default()
    }
}

/// A syntax error, printed as HCL 1 prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError(pub String);

fn pos_error(pos: Pos, msg: impl fmt::Display) -> SyntaxError {
    SyntaxError(format!("At {pos}: {msg}"))
}

/// Parses HCL 1, or its JSON form when the trimmed text starts with `{` (as OpenBao decides).
pub(crate) fn parse(text: &str) -> Result<Vec<Item>, SyntaxError> {
    if text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']).starts_with('{') {
        json::parse(text)
    } else {
        HclParser::new(text).parse()
    }
}

// ---------------------------------------------------------------------------------------------
// HCL scanner

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Eof,
    Illegal,
    Comment,
    Ident,
    Number,
    Float,
    Bool,
    String,
    Heredoc,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    Comma,
    Period,
    Assign,
    Add,
    Sub,
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::Eof => "EOF",
            Tok::Illegal => "ILLEGAL",
            Tok::Comment => "COMMENT",
            Tok::Ident => "IDENT",
            Tok::Number => "NUMBER",
            Tok::Float => "FLOAT",
            Tok::Bool => "BOOL",
            Tok::String => "STRING",
            Tok::Heredoc => "HEREDOC",
            Tok::LBrack => "LBRACK",
            Tok::RBrack => "RBRACK",
            Tok::LBrace => "LBRACE",
            Tok::RBrace => "RBRACE",
            Tok::Comma => "COMMA",
            Tok::Period => "PERIOD",
            Tok::Assign => "ASSIGN",
            Tok::Add => "ADD",
            Tok::Sub => "SUB",
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    pos: Pos,
    text: String,
}

const EOF: char = '\0';

struct Scanner {
    chars: Vec<char>,
    /// Index of the next char to read.
    idx: usize,
    line: u32,
    col: u32,
    prev: (usize, u32, u32),
    last_line_len: u32,
    /// The last error reported (HCL 1 keeps the last one).
    error: Option<SyntaxError>,
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (c as u32 >= 0x80 && c.is_alphabetic())
}
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (c as u32 >= 0x80 && c.is_numeric())
}
fn digit_val(c: char) -> u32 {
    c.to_digit(16).unwrap_or(16)
}

impl Scanner {
    fn new(src: &str) -> Self {
        Scanner {
            chars: src.chars().collect(),
            idx: 0,
            line: 1,
            col: 0,
            prev: (0, 1, 0),
            last_line_len: 0,
            error: None,
        }
    }

    fn next(&mut self) -> char {
        let Some(&c) = self.chars.get(self.idx) else {
            self.col += 1;
            return EOF;
        };
        self.prev = (self.idx, self.line, self.col);
        self.idx += 1;
        self.col += 1;
        if c == '\n' {
            self.line += 1;
            self.last_line_len = self.col;
            self.col = 0;
        }
        if c == '\0' {
            self.err("unexpected null character (0x00)");
            return EOF;
        }
        c
    }

    fn unread(&mut self) {
        (self.idx, self.line, self.col) = self.prev;
    }

    fn peek(&self) -> char {
        self.chars.get(self.idx).copied().unwrap_or(EOF)
    }

    fn recent_pos(&self) -> Pos {
        if self.col > 0 {
            Pos { line: self.line, col: self.col }
        } else if self.last_line_len > 0 {
            Pos { line: self.line - 1, col: self.last_line_len }
        } else {
            Pos { line: 1, col: 1 }
        }
    }

    fn err(&mut self, msg: &str) {
        self.error = Some(pos_error(self.recent_pos(), msg));
    }

    fn scan(&mut self) -> Token {
        let mut c = self.next();
        while matches!(c, ' ' | '\t' | '\n' | '\r') {
            c = self.next();
        }
        let start = self.idx.saturating_sub(1);
        let pos = self.recent_pos();
        let at_eof = c == EOF && self.idx >= self.chars.len();
        let kind = if is_letter(c) {
            let lit = self.scan_identifier(start);
            if lit == "true" || lit == "false" {
                Tok::Bool
            } else {
                Tok::Ident
            }
        } else if c.is_ascii_digit() {
            self.scan_number(c)
        } else {
            match c {
                EOF if at_eof => Tok::Eof,
                EOF => Tok::Illegal,
                '"' => {
                    self.scan_string();
                    Tok::String
                }
                '#' | '/' => {
                    self.scan_comment(c);
                    Tok::Comment
                }
                '.' => {
                    if self.peek().is_ascii_digit() {
                        let c = self.peek();
                        let c = self.scan_mantissa(c);
                        self.scan_exponent(c);
                        Tok::Float
                    } else {
                        Tok::Period
                    }
                }
                '<' => {
                    self.scan_heredoc();
                    Tok::Heredoc
                }
                '[' => Tok::LBrack,
                ']' => Tok::RBrack,
                '{' => Tok::LBrace,
                '}' => Tok::RBrace,
                ',' => Tok::Comma,
                '=' => Tok::Assign,
                '+' => Tok::Add,
                '-' => {
                    if self.peek().is_ascii_digit() {
                        let c = self.next();
                        self.scan_number(c)
                    } else {
                        Tok::Sub
                    }
                }
                _ => {
                    self.err("illegal char");
                    Tok::Illegal
                }
            }
        };
        let end = self.idx.min(self.chars.len());
        let text = if kind == Tok::Eof { String::new() } else { self.chars[start.min(end)..end].iter().collect() };
        Token { kind, pos, text }
    }

    fn scan_identifier(&mut self, start: usize) -> String {
        let mut c = self.next();
        while is_letter(c) || is_digit(c) || c == '-' || c == '.' {
            c = self.next();
        }
        if c != EOF {
            self.unread();
        }
        self.chars[start..self.idx.min(self.chars.len())].iter().collect()
    }

    fn scan_comment(&mut self, c: char) {
        if c == '#' || (c == '/' && self.peek() != '*') {
            if c == '/' && self.peek() != '/' {
                self.err("expected '/' for comment");
                return;
            }
            let mut c = self.next();
            while c != '\n' && c != EOF {
                c = self.next();
            }
            if c != EOF {
                self.unread();
            }
            return;
        }
        let mut c = c;
        if c == '/' {
            self.next();
            c = self.next();
        }
        loop {
            if c == EOF {
                self.err("comment not terminated");
                break;
            }
            let c0 = c;
            c = self.next();
            if c0 == '*' && c == '/' {
                break;
            }
        }
    }

    fn scan_number(&mut self, c: char) -> Tok {
        let mut c = c;
        if c == '0' {
            c = self.next();
            if c == 'x' || c == 'X' {
                c = self.next();
                let mut found = false;
                while c.is_ascii_hexdigit() {
                    c = self.next();
                    found = true;
                }
                if !found {
                    self.err("illegal hexadecimal number");
                }
                if c != EOF {
                    self.unread();
                }
                return Tok::Number;
            }
            let mut illegal_octal = false;
            while c.is_ascii_digit() {
                c = self.next();
                if c == '8' || c == '9' {
                    illegal_octal = true;
                }
            }
            if c == 'e' || c == 'E' {
                self.scan_exponent(c);
                return Tok::Float;
            }
            if c == '.' {
                c = self.scan_fraction(c);
                if c == 'e' || c == 'E' {
                    c = self.next();
                    self.scan_exponent(c);
                }
                return Tok::Float;
            }
            if illegal_octal {
                self.err("illegal octal number");
            }
            if c != EOF {
                self.unread();
            }
            return Tok::Number;
        }
        self.scan_mantissa(c);
        c = self.next();
        if c == 'e' || c == 'E' {
            self.scan_exponent(c);
            return Tok::Float;
        }
        if c == '.' {
            c = self.scan_fraction(c);
            if c == 'e' || c == 'E' {
                c = self.next();
                self.scan_exponent(c);
            }
            return Tok::Float;
        }
        if c != EOF {
            self.unread();
        }
        Tok::Number
    }

    fn scan_mantissa(&mut self, c: char) -> char {
        let mut c = c;
        let mut scanned = false;
        while c.is_ascii_digit() {
            c = self.next();
            scanned = true;
        }
        if scanned && c != EOF {
            self.unread();
        }
        c
    }

    fn scan_fraction(&mut self, c: char) -> char {
        if c == '.' {
            let p = self.peek();
            return self.scan_mantissa(p);
        }
        c
    }

    fn scan_exponent(&mut self, c: char) -> char {
        let mut c = c;
        if c == 'e' || c == 'E' {
            c = self.next();
            if c == '-' || c == '+' {
                c = self.next();
            }
            c = self.scan_mantissa(c);
        }
        c
    }

    fn scan_heredoc(&mut self) {
        if self.next() != '<' {
            self.err("heredoc expected second '<', didn't see it");
            return;
        }
        let offs = self.idx;
        let mut c = self.next();
        if c == '-' {
            c = self.next();
        }
        while is_letter(c) || is_digit(c) {
            c = self.next();
        }
        if c == EOF {
            self.err("heredoc not terminated");
            return;
        }
        if c == '\r' && self.peek() == '\n' {
            c = self.next();
        }
        if c != '\n' {
            self.err("invalid characters in heredoc anchor");
            return;
        }
        let ident: String = self.chars[offs..self.idx - 1].iter().collect();
        let ident = ident.trim_end_matches('\r').to_string();
        if ident.is_empty() {
            self.err("zero-length heredoc anchor");
            return;
        }
        let anchor = ident.strip_prefix('-').unwrap_or(&ident).to_string();
        let mut line_start = self.idx;
        loop {
            let c = self.next();
            if c == '\n' {
                let line: String = self.chars[line_start..self.idx - 1].iter().collect();
                if line.trim_start().trim_end_matches('\r') == anchor {
                    break;
                }
                line_start = self.idx;
            }
            if c == EOF {
                self.err("heredoc not terminated");
                return;
            }
        }
    }

    fn scan_string(&mut self) {
        let mut braces = 0;
        loop {
            let c = self.next();
            if (c == '\n' && braces == 0) || c == EOF {
                self.err("literal not terminated");
                return;
            }
            if c == '"' && braces == 0 {
                break;
            }
            if braces == 0 && c == '$' && self.peek() == '{' {
                braces += 1;
                self.next();
            } else if braces > 0 && c == '{' {
                braces += 1;
            }
            if braces > 0 && c == '}' {
                braces -= 1;
            }
            if c == '\\' {
                self.scan_escape();
            }
        }
    }

    fn scan_escape(&mut self) {
        let c = self.next();
        match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"' => {}
            '0'..='7' => self.scan_digits(c, 8, 3),
            'x' => {
                let c = self.next();
                self.scan_digits(c, 16, 2)
            }
            'u' => {
                let c = self.next();
                self.scan_digits(c, 16, 4)
            }
            'U' => {
                let c = self.next();
                self.scan_digits(c, 16, 8)
            }
            _ => self.err("illegal char escape"),
        }
    }

    fn scan_digits(&mut self, c: char, base: u32, n: u32) {
        let start = n;
        let mut n = n;
        let mut c = c;
        while n > 0 && digit_val(c) < base {
            c = self.next();
            if c == EOF {
                break;
            }
            n -= 1;
        }
        if n > 0 {
            self.err("illegal char escape");
        }
        if n != start && c != EOF {
            self.unread();
        }
    }
}

/// Decodes a quoted HCL 1 string (escapes as in Go, `${...}` kept as written).
fn unquote_hcl(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next()?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            '\'' => Some('\''),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let (digits, radix) = match e {
            '0'..='7' => (3, 8),
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => return None,
        };
        let mut v: u32 = 0;
        let mut taken = 0;
        if radix == 8 {
            v = e.to_digit(8)?;
            taken = 1;
        }
        while taken < digits {
            let d = it.next()?.to_digit(radix)?;
            v = v.checked_mul(radix)?.checked_add(d)?;
            taken += 1;
        }
        if radix == 8 || e == 'x' {
            // Go's \NNN and \xHH are bytes; keep them as the code point of that byte.
            out.push(char::from_u32(v)?);
        } else {
            out.push(char::from_u32(v)?);
        }
    }
    Some(out)
}

/// The value of a heredoc token: the lines between the anchors (`<<-` removes common indent).
fn heredoc_value(text: &str) -> String {
    let Some(rest) = text.strip_prefix("<<") else { return String::new() };
    let indented = rest.starts_with('-');
    let Some(nl) = rest.find('\n') else { return String::new() };
    let body = &rest[nl + 1..];
    // Drop the closing anchor line.
    let body = match body.trim_end_matches(['\n', '\r']).rfind('\n') {
        Some(i) => &body[..=i],
        None => "",
    };
    if !indented {
        return body.to_string();
    }
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start())).collect()
}

// ---------------------------------------------------------------------------------------------
// HCL parser (HCL 1's recursive descent, with its error texts)

enum ItemErr {
    Eof,
    Syntax(SyntaxError),
}

struct HclParser {
    sc: Scanner,
    tok: Token,
    buffered: bool,
    /// The raw token texts of the keys being read, for "expected start of object".
    key_texts: Vec<String>,
    /// Open objects, bounded so that hostile nesting cannot exhaust the stack.
    depth: usize,
}

/// Deepest object nesting accepted (policies nest three levels at most in practice).
const MAX_DEPTH: usize = 64;

impl HclParser {
    fn new(src: &str) -> Self {
        HclParser {
            sc: Scanner::new(src),
            tok: Token { kind: Tok::Eof, pos: Pos::default(), text: String::new() },
            buffered: false,
            key_texts: Vec::new(),
            depth: 0,
        }
    }

    fn parse(mut self) -> Result<Vec<Item>, SyntaxError> {
        let (items, err) = self.object_list(false);
        if let Some(e) = self.sc.error.take() {
            return Err(e);
        }
        match err {
            None => Ok(items),
            Some(ItemErr::Eof) => Err(SyntaxError("EOF token found".into())),
            Some(ItemErr::Syntax(s)) => Err(s),
        }
    }

    fn scan(&mut self) -> Token {
        if self.buffered {
            self.buffered = false;
            return self.tok.clone();
        }
        let mut t = self.sc.scan();
        while t.kind == Tok::Comment {
            t = self.sc.scan();
        }
        self.tok = t.clone();
        t
    }

    fn unscan(&mut self) {
        self.buffered = true;
    }

    /// The items read, and the error that stopped the list. Inside an object (`obj`), a `}`
    /// ends the list and is left for the caller.
    fn object_list(&mut self, obj: bool) -> (Vec<Item>, Option<ItemErr>) {
        let mut items = Vec::new();
        loop {
            if obj {
                let t = self.scan();
                self.unscan();
                if t.kind == Tok::RBrace {
                    break;
                }
            }
            match self.object_item() {
                Err(ItemErr::Eof) => break,
                Err(e) => return (items, Some(e)),
                Ok(item) => items.push(item),
            }
            let t = self.scan();
            if t.kind != Tok::Comma {
                self.unscan();
            }
        }
        (items, None)
    }

    fn object_item(&mut self) -> Result<Item, ItemErr> {
        let (keys, mut err) = self.object_key();
        if !keys.is_empty() && matches!(err, Some(ItemErr::Eof)) {
            err = None;
        }
        if !keys.is_empty() && err.is_some() && self.tok.kind == Tok::RBrace {
            err = None;
            self.tok.kind = Tok::Eof;
        }
        if let Some(e) = err {
            return Err(e);
        }
        let keys: Vec<Key> = keys;
        match self.tok.kind {
            Tok::Assign => {
                let assign = self.tok.pos;
                let val = self.object()?;
                // HCL 1 looks one token ahead for a line comment.
                self.scan();
                self.unscan();
                Ok(Item { keys, assign, val })
            }
            Tok::LBrace => {
                let val = self.object_type()?;
                self.scan();
                self.unscan();
                Ok(Item { keys, assign: Pos::default(), val })
            }
            _ => {
                let texts: Vec<&str> = keys.iter().map(|k| k.value.as_str()).collect();
                // HCL 1 prints the keys' token text (quotes included for strings).
                let raw: Vec<String> = self.key_texts.drain(..).collect();
                let shown = if raw.len() == texts.len() { raw.join(" ") } else { texts.join(" ") };
                Err(ItemErr::Syntax(SyntaxError(format!(
                    "key '{shown}' expected start of object ('{{') or assignment ('=')"
                ))))
            }
        }
    }

    fn object_key(&mut self) -> (Vec<Key>, Option<ItemErr>) {
        let mut keys = Vec::new();
        self.key_texts.clear();
        loop {
            let t = self.scan();
            match t.kind {
                Tok::Eof => return (keys, Some(ItemErr::Eof)),
                Tok::Assign => {
                    if keys.len() > 1 {
                        return (
                            Vec::new(),
                            Some(ItemErr::Syntax(pos_error(t.pos, "nested object expected: LBRACE got: ASSIGN"))),
                        );
                    }
                    if keys.is_empty() {
                        return (Vec::new(), Some(ItemErr::Syntax(pos_error(t.pos, "no object keys found!"))));
                    }
                    return (keys, None);
                }
                Tok::LBrace => {
                    if keys.is_empty() {
                        return (keys, Some(ItemErr::Syntax(pos_error(t.pos, "expected: IDENT | STRING got: LBRACE"))));
                    }
                    return (keys, None);
                }
                Tok::Ident => {
                    self.key_texts.push(t.text.clone());
                    keys.push(Key { value: t.text, pos: t.pos });
                }
                Tok::String => {
                    self.key_texts.push(t.text.clone());
                    let value = unquote_hcl(&t.text).unwrap_or_default();
                    keys.push(Key { value, pos: t.pos });
                }
                Tok::Illegal => {}
                other => {
                    return (
                        keys,
                        Some(ItemErr::Syntax(pos_error(
                            t.pos,
                            format!("expected: IDENT | STRING | ASSIGN | LBRACE got: {}", other.name()),
                        ))),
                    )
                }
            }
        }
    }

    fn literal(&self, t: &Token) -> Node {
        let (kind, value) = match t.kind {
            Tok::Number => (LitKind::Number, t.text.clone()),
            Tok::Float => (LitKind::Float, t.text.clone()),
            Tok::Bool => (LitKind::Bool, t.text.clone()),
            Tok::Heredoc => (LitKind::Heredoc, heredoc_value(&t.text)),
            _ => (LitKind::String, unquote_hcl(&t.text).unwrap_or_default()),
        };
        Node::Lit(Lit { kind, value, pos: t.pos })
    }

    fn object(&mut self) -> Result<Node, ItemErr> {
        let t = self.scan();
        match t.kind {
            Tok::Number | Tok::Float | Tok::Bool | Tok::String | Tok::Heredoc => Ok(self.literal(&t)),
            Tok::LBrace => self.object_type(),
            Tok::LBrack => self.list_type(),
            Tok::Eof => Err(ItemErr::Eof),
            _ => Err(ItemErr::Syntax(pos_error(
                t.pos,
                format!("Unknown token: {{{} {} {}}}", t.kind.name(), t.pos, t.text),
            ))),
        }
    }

    fn object_type(&mut self) -> Result<Node, ItemErr> {
        let pos = self.tok.pos;
        if self.depth >= MAX_DEPTH {
            return Err(ItemErr::Syntax(pos_error(pos, "objects nested too deeply")));
        }
        self.depth += 1;
        let res = self.object_type_inner(pos);
        self.depth -= 1;
        res
    }

    fn object_type_inner(&mut self, pos: Pos) -> Result<Node, ItemErr> {
        let (items, err) = self.object_list(true);
        if let Some(e) = err {
            return Err(e);
        }
        let t = self.scan();
        if t.kind != Tok::RBrace {
            return Err(ItemErr::Syntax(pos_error(
                t.pos,
                format!("object expected closing RBRACE got: {}", t.kind.name()),
            )));
        }
        Ok(Node::Object { items, pos })
    }

    fn list_type(&mut self) -> Result<Node, ItemErr> {
        let pos = self.tok.pos;
        let mut items = Vec::new();
        let mut need_comma = false;
        loop {
            let t = self.scan();
            if need_comma && !matches!(t.kind, Tok::Comma | Tok::RBrack) {
                return Err(ItemErr::Syntax(pos_error(
                    t.pos,
                    format!("error parsing list, expected comma or list end, got: {}", t.kind.name()),
                )));
            }
            match t.kind {
                Tok::Number | Tok::Float | Tok::String | Tok::Heredoc => {
                    items.push(self.literal(&t));
                    need_comma = true;
                }
                Tok::Comma => need_comma = false,
                Tok::LBrace => match self.object_type() {
                    Ok(o) => {
                        items.push(o);
                        need_comma = true;
                    }
                    Err(ItemErr::Syntax(SyntaxError(e))) => {
                        return Err(ItemErr::Syntax(pos_error(
                            t.pos,
                            format!("error while trying to parse object within list: {e}"),
                        )))
                    }
                    Err(ItemErr::Eof) => {
                        return Err(ItemErr::Syntax(pos_error(
                            t.pos,
                            "error while trying to parse object within list: EOF token found",
                        )))
                    }
                },
                // OpenBao's HCL keeps booleans in lists (`[false, "false"]`); nested lists are
                // dropped.
                Tok::Bool => {
                    items.push(self.literal(&t));
                    need_comma = true;
                }
                Tok::LBrack => {}
                Tok::RBrack => return Ok(Node::List { items, pos }),
                other => {
                    return Err(ItemErr::Syntax(pos_error(
                        t.pos,
                        format!("unexpected token while parsing list: {}", other.name()),
                    )))
                }
            }
        }
    }
}

mod json {
    //! HCL 1's JSON reader: a JSON object whose nested objects are flattened into multi-key
    //! items (`{"path": {"a": {...}}}` reads as `path "a" {...}`).
    use super::{Item, Key, Lit, LitKind, Node, Pos, SyntaxError};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Tok {
        Eof,
        Illegal,
        Number,
        Float,
        Bool,
        Null,
        String,
        LBrack,
        RBrack,
        LBrace,
        RBrace,
        Comma,
        Colon,
        Period,
    }

    impl Tok {
        fn name(self) -> &'static str {
            match self {
                Tok::Eof => "EOF",
                Tok::Illegal => "ILLEGAL",
                Tok::Number => "NUMBER",
                Tok::Float => "FLOAT",
                Tok::Bool => "BOOL",
                Tok::Null => "NULL",
                Tok::String => "STRING",
                Tok::LBrack => "LBRACK",
                Tok::RBrack => "RBRACK",
                Tok::LBrace => "LBRACE",
                Tok::RBrace => "RBRACE",
                Tok::Comma => "COMMA",
                Tok::Colon => "COLON",
                Tok::Period => "PERIOD",
            }
        }
    }

    struct Token {
        kind: Tok,
        pos: Pos,
        text: String,
    }

    struct Scanner {
        chars: Vec<char>,
        idx: usize,
        line: u32,
        col: u32,
        prev: (usize, u32, u32),
        last_line_len: u32,
        error: Option<SyntaxError>,
    }

    const EOF: char = '\0';

    impl Scanner {
        fn next(&mut self) -> char {
            let Some(&c) = self.chars.get(self.idx) else {
                self.col += 1;
                return EOF;
            };
            self.prev = (self.idx, self.line, self.col);
            self.idx += 1;
            self.col += 1;
            if c == '\n' {
                self.line += 1;
                self.last_line_len = self.col;
                self.col = 0;
            }
            c
        }
        fn unread(&mut self) {
            (self.idx, self.line, self.col) = self.prev;
        }
        fn peek(&self) -> char {
            self.chars.get(self.idx).copied().unwrap_or(EOF)
        }
        fn recent_pos(&self) -> Pos {
            if self.col > 0 {
                Pos { line: self.line, col: self.col }
            } else if self.last_line_len > 0 {
                Pos { line: self.line - 1, col: self.last_line_len }
            } else {
                Pos { line: 1, col: 1 }
            }
        }
        fn err(&mut self, msg: &str) {
            // The JSON reader prints scanner errors without HCL's "At " prefix.
            self.error = Some(SyntaxError(format!("{}: {msg}", self.recent_pos())));
        }

        fn scan(&mut self) -> Token {
            let mut c = self.next();
            while matches!(c, ' ' | '\t' | '\n' | '\r') {
                c = self.next();
            }
            let start = self.idx.saturating_sub(1);
            let pos = self.recent_pos();
            let at_eof = c == EOF && self.idx >= self.chars.len();
            let kind = if c.is_ascii_alphabetic() || c == '_' {
                let mut d = self.next();
                while d.is_ascii_alphanumeric() || d == '_' || d == '-' || d == '.' {
                    d = self.next();
                }
                if d != EOF {
                    self.unread();
                }
                let lit: String = self.chars[start..self.idx.min(self.chars.len())].iter().collect();
                match lit.as_str() {
                    "true" | "false" => Tok::Bool,
                    "null" => Tok::Null,
                    _ => {
                        self.err("illegal char");
                        Tok::Illegal
                    }
                }
            } else if c.is_ascii_digit() || c == '-' {
                self.scan_number(c)
            } else {
                match c {
                    EOF if at_eof => Tok::Eof,
                    '"' => {
                        self.scan_string();
                        Tok::String
                    }
                    '.' => Tok::Period,
                    '[' => Tok::LBrack,
                    ']' => Tok::RBrack,
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    ',' => Tok::Comma,
                    ':' => Tok::Colon,
                    _ => {
                        self.err("illegal char");
                        Tok::Illegal
                    }
                }
            };
            let end = self.idx.min(self.chars.len());
            let text = if kind == Tok::Eof { String::new() } else { self.chars[start.min(end)..end].iter().collect() };
            Token { kind, pos, text }
        }

        fn scan_number(&mut self, c: char) -> Tok {
            let mut c = c;
            if c == '-' {
                c = self.next();
            }
            let mut float = false;
            while c.is_ascii_digit() {
                c = self.next();
            }
            if c == '.' {
                float = true;
                c = self.next();
                while c.is_ascii_digit() {
                    c = self.next();
                }
            }
            if c == 'e' || c == 'E' {
                float = true;
                c = self.next();
                if c == '-' || c == '+' {
                    c = self.next();
                }
                while c.is_ascii_digit() {
                    c = self.next();
                }
            }
            if c != EOF {
                self.unread();
            }
            if float {
                Tok::Float
            } else {
                Tok::Number
            }
        }

        fn scan_string(&mut self) {
            loop {
                let c = self.next();
                if c == '\n' || c == EOF {
                    self.err("literal not terminated");
                    return;
                }
                if c == '"' {
                    break;
                }
                if c == '\\' {
                    match self.next() {
                        '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => {}
                        'u' => {
                            for _ in 0..4 {
                                if !self.peek().is_ascii_hexdigit() {
                                    self.next();
                                    self.err("illegal char escape");
                                    return;
                                }
                                self.next();
                            }
                        }
                        _ => self.err("illegal char escape"),
                    }
                }
            }
        }
    }

    fn unquote_json(text: &str) -> String {
        serde_json::from_str::<String>(text)
            .unwrap_or_else(|_| text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text).to_string())
    }

    struct Parser {
        sc: Scanner,
        kind: Tok,
        pos: Pos,
        text: String,
        buffered: bool,
        depth: usize,
    }

    enum PErr {
        Eof,
        Msg(String),
    }

    impl Parser {
        fn scan(&mut self) -> Tok {
            if self.buffered {
                self.buffered = false;
                return self.kind;
            }
            let t = self.sc.scan();
            self.kind = t.kind;
            self.pos = t.pos;
            self.text = t.text;
            self.kind
        }

        fn literal(&self) -> Node {
            let (kind, value) = match self.kind {
                Tok::Number => (LitKind::Number, self.text.clone()),
                Tok::Float => (LitKind::Float, self.text.clone()),
                Tok::Bool => (LitKind::Bool, self.text.clone()),
                Tok::Null => (LitKind::Null, String::new()),
                _ => (LitKind::String, unquote_json(&self.text)),
            };
            // HCL 1 drops the positions of JSON literals ("At -:" in decode errors).
            Node::Lit(Lit { kind, value, pos: Pos::default() })
        }

        fn object_list(&mut self) -> Result<Vec<Item>, PErr> {
            let mut items = Vec::new();
            loop {
                // OpenBao's reader takes `{}` and a trailing comma before `}`.
                if self.scan() == Tok::RBrace {
                    break;
                }
                self.buffered = true;
                match self.object_item() {
                    Err(PErr::Eof) => break,
                    Err(e) => return Err(e),
                    Ok(i) => items.push(i),
                }
                if self.scan() != Tok::Comma {
                    break;
                }
            }
            Ok(items)
        }

        fn object_item(&mut self) -> Result<Item, PErr> {
            let mut keys = Vec::new();
            loop {
                match self.scan() {
                    Tok::Eof => return Err(PErr::Eof),
                    Tok::String => keys.push(Key { value: unquote_json(&self.text), pos: Pos::default() }),
                    Tok::Colon => {
                        if keys.is_empty() {
                            return Err(PErr::Msg("expected: STRING got: COLON".into()));
                        }
                        break;
                    }
                    Tok::Illegal => return Err(PErr::Msg("illegal".into())),
                    other => return Err(PErr::Msg(format!("expected: STRING got: {}", other.name()))),
                }
            }
            let assign = self.pos;
            let val = self.object_value()?;
            Ok(Item { keys, assign, val })
        }

        fn object_value(&mut self) -> Result<Node, PErr> {
            match self.scan() {
                Tok::Number | Tok::Float | Tok::Bool | Tok::Null | Tok::String => Ok(self.literal()),
                Tok::LBrace => self.object_type(),
                Tok::LBrack => self.list_type(),
                Tok::Eof => Err(PErr::Eof),
                other => Err(PErr::Msg(format!(
                    "Expected object value, got unknown token: {{{} {} {}}}",
                    other.name(),
                    self.pos,
                    self.text
                ))),
            }
        }

        fn object_type(&mut self) -> Result<Node, PErr> {
            if self.depth >= super::MAX_DEPTH {
                return Err(PErr::Msg("objects nested too deeply".into()));
            }
            self.depth += 1;
            let res = self.object_type_inner();
            self.depth -= 1;
            res
        }

        fn object_type_inner(&mut self) -> Result<Node, PErr> {
            // Like its literals, HCL 1's JSON reader leaves structures without positions.
            let pos = Pos::default();
            let res = self.object_list();
            // OpenBao's reader accepts an object left open at the end of the input.
            if self.kind != Tok::RBrace && self.kind != Tok::Eof {
                res?;
                return Err(PErr::Msg(format!("unexpected token while parsing object: {}", self.kind.name())));
            }
            Ok(Node::Object { items: res?, pos })
        }

        fn list_type(&mut self) -> Result<Node, PErr> {
            let pos = Pos::default();
            let mut items = Vec::new();
            loop {
                match self.scan() {
                    Tok::Number | Tok::Float | Tok::String | Tok::Bool => items.push(self.literal()),
                    Tok::Comma | Tok::LBrack => {}
                    Tok::LBrace => items.push(self.object_type()?),
                    Tok::RBrack => return Ok(Node::List { items, pos }),
                    other => return Err(PErr::Msg(format!("unexpected token while parsing list: {}", other.name()))),
                }
            }
        }
    }

    pub fn parse(text: &str) -> Result<Vec<Item>, SyntaxError> {
        let sc = Scanner {
            chars: text.chars().collect(),
            idx: 0,
            line: 1,
            col: 0,
            prev: (0, 1, 0),
            last_line_len: 0,
            error: None,
        };
        let mut p = Parser { sc, kind: Tok::Eof, pos: Pos::default(), text: String::new(), buffered: false, depth: 0 };
        let res = match p.scan() {
            Tok::LBrace => p.object_type(),
            Tok::Eof => Err(PErr::Eof),
            other => {
                Err(PErr::Msg(format!("Expected object, got unknown token: {{{} {} {}}}", other.name(), p.pos, p.text)))
            }
        };
        if let Some(e) = p.sc.error.take() {
            return Err(e);
        }
        match res {
            Ok(Node::Object { items, .. }) => Ok(flatten(items)),
            Ok(_) => Ok(Vec::new()),
            Err(PErr::Eof) => Err(SyntaxError("EOF token found".into())),
            Err(PErr::Msg(m)) => Err(SyntaxError(m)),
        }
    }

    /// HCL 1's `flattenObjects`: an item whose value is an object made only of objects (or a
    /// list made only of objects) is replaced by items with the nested keys appended.
    fn flatten(items: Vec<Item>) -> Vec<Item> {
        let mut out = Vec::with_capacity(items.len());
        let mut frontier: Vec<Item> = items.into_iter().rev().collect();
        while let Some(item) = frontier.pop() {
            match item.val {
                Node::Object { items: sub, pos } => {
                    let all_objects = !sub.is_empty() && sub.iter().all(|s| matches!(s.val, Node::Object { .. }));
                    if !all_objects {
                        out.push(Item {
                            keys: item.keys,
                            assign: item.assign,
                            val: Node::Object { items: flatten(sub), pos },
                        });
                        continue;
                    }
                    let mut next = Vec::with_capacity(sub.len());
                    for s in sub {
                        let mut keys = item.keys.clone();
                        keys.extend(s.keys);
                        next.push(Item { keys, assign: item.assign, val: s.val });
                    }
                    frontier.extend(next.into_iter().rev());
                }
                Node::List { items: elems, pos } => {
                    let all_objects = !elems.is_empty() && elems.iter().all(|e| matches!(e, Node::Object { .. }));
                    if !all_objects {
                        let elems = elems
                            .into_iter()
                            .map(|e| match e {
                                Node::Object { items, pos } => Node::Object { items: flatten(items), pos },
                                other => other,
                            })
                            .collect();
                        out.push(Item { keys: item.keys, assign: item.assign, val: Node::List { items: elems, pos } });
                        continue;
                    }
                    let next: Vec<Item> = elems
                        .into_iter()
                        .map(|e| Item { keys: item.keys.clone(), assign: item.assign, val: e })
                        .collect();
                    frontier.extend(next.into_iter().rev());
                }
                lit => out.push(Item { keys: item.keys, assign: item.assign, val: lit }),
            }
        }
        out
    }
}
