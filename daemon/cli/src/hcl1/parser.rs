//! The HCL 1 parser (`hashicorp/hcl/hcl/parser` v1.0.0): object lists, items, lists and
//! literals, with lead and line comments attached as it attaches them.

use std::collections::HashSet;

use super::scanner::Scanner;
use super::{
    Comment, CommentGroup, File, ListType, LiteralType, Node, ObjectItem, ObjectList, ObjectType, ParseError, Pos,
    Token, TokenType,
};

enum Failure {
    /// Go's `errEofToken`: the input ended where an item could start.
    Eof,
    Msg(String),
}

fn at(pos: Pos, msg: impl std::fmt::Display) -> Failure {
    Failure::Msg(format!("At {pos}: {msg}"))
}

struct Parser<'a> {
    sc: Scanner<'a>,
    tok: Token,
    comments: Vec<CommentGroup>,
    lead_comment: Option<usize>,
    line_comment: Option<usize>,
    /// One token of push-back (`unscan`).
    buffered: bool,
    /// OpenBao's hcl fork: an attribute set twice is an error.
    error_on_duplicates: bool,
}

/// Parses `src` (CRLF line endings normalized first, as Go does). With
/// `error_on_duplicates`, an attribute (`key = value`) given twice in one object is an
/// error, as it is when bao formats a policy.
pub(crate) fn parse(src: &str, error_on_duplicates: bool) -> Result<File, ParseError> {
    let src = src.replace("\r\n", "\n");
    let mut p = Parser {
        sc: Scanner::new(src.as_bytes()),
        tok: Token { typ: TokenType::Illegal, pos: Pos::default(), text: String::new() },
        comments: Vec::new(),
        lead_comment: None,
        line_comment: None,
        buffered: false,
        error_on_duplicates,
    };
    let result = p.object_list(false);
    if let Some((pos, msg)) = p.sc.error.take() {
        return Err(ParseError(format!("At {pos}: {msg}")));
    }
    match result {
        Ok(node) => Ok(File { node, comments: p.comments }),
        Err(Failure::Eof) => Err(ParseError("EOF token found".to_string())),
        Err(Failure::Msg(m)) => Err(ParseError(m)),
    }
}

impl Parser<'_> {
    fn object_list(&mut self, obj: bool) -> Result<ObjectList, Failure> {
        let mut node = ObjectList::default();
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            if obj {
                let tok = self.scan();
                self.unscan();
                if tok.typ == TokenType::RBrace {
                    break;
                }
            }
            let item = match self.object_item() {
                Err(Failure::Eof) => break,
                Err(e) => return Err(e),
                Ok(i) => i,
            };
            if self.error_on_duplicates && item.assign.is_valid() {
                if let Some(key) = item.keys.first() {
                    if !seen.insert(key.text.clone()) {
                        return Err(Failure::Msg(format!(
                            "The argument {} at {} was already set. Each argument can only be defined once",
                            crate::flags::go_quote(&key.text),
                            key.pos
                        )));
                    }
                }
            }
            node.items.push(item);
            // Items may be separated by commas.
            let tok = self.scan();
            if tok.typ != TokenType::Comma {
                self.unscan();
            }
        }
        Ok(node)
    }

    fn consume_comment(&mut self) -> (Comment, usize) {
        let mut endline = self.tok.pos.line;
        if self.tok.text.as_bytes().get(1) == Some(&b'*') {
            endline += self.tok.text.matches('\n').count();
        }
        let comment = Comment { start: self.tok.pos, text: self.tok.text.clone() };
        self.tok = self.sc.scan();
        (comment, endline)
    }

    fn consume_comment_group(&mut self, n: usize) -> (usize, usize) {
        let mut list = Vec::new();
        let mut endline = self.tok.pos.line;
        while self.tok.typ == TokenType::Comment && self.tok.pos.line <= endline + n {
            let (c, e) = self.consume_comment();
            endline = e;
            list.push(c);
        }
        self.comments.push(CommentGroup { list });
        (self.comments.len() - 1, endline)
    }

    fn object_item(&mut self) -> Result<ObjectItem, Failure> {
        let (keys, mut err) = self.object_key();
        if !keys.is_empty() && matches!(err, Some(Failure::Eof)) {
            err = None;
        }
        if !keys.is_empty() && err.is_some() && self.tok.typ == TokenType::RBrace {
            err = None;
            self.tok.typ = TokenType::Eof;
        }
        if let Some(e) = err {
            return Err(e);
        }
        let lead_comment = self.lead_comment.take();
        let (assign, val) = match self.tok.typ {
            TokenType::Assign => {
                let assign = self.tok.pos;
                (assign, self.object()?)
            }
            TokenType::LBrace => (Pos::default(), Node::Object(self.object_type()?)),
            _ => {
                let names: Vec<&str> = keys.iter().map(|k| k.text.as_str()).collect();
                return Err(at(
                    self.tok.pos,
                    format!("key '{}' expected start of object ('{{') or assignment ('=')", names.join(" ")),
                ));
            }
        };
        let mut item = ObjectItem { keys, assign, val, lead_comment, line_comment: None };
        // Look ahead for a line comment.
        self.scan();
        if !item.keys.is_empty() && item.val.pos().line == item.keys[0].pos.line && self.line_comment.is_some() {
            item.line_comment = self.line_comment.take();
        }
        self.unscan();
        Ok(item)
    }

    fn object_key(&mut self) -> (Vec<Token>, Option<Failure>) {
        let mut keys: Vec<Token> = Vec::new();
        loop {
            let tok = self.scan();
            match tok.typ {
                TokenType::Eof => return (keys, Some(Failure::Eof)),
                TokenType::Assign => {
                    if keys.len() > 1 {
                        return (
                            Vec::new(),
                            Some(at(tok.pos, format!("nested object expected: LBRACE got: {}", tok.typ))),
                        );
                    }
                    if keys.is_empty() {
                        return (Vec::new(), Some(at(tok.pos, "no object keys found!")));
                    }
                    return (keys, None);
                }
                TokenType::LBrace => {
                    let err =
                        keys.is_empty().then(|| at(tok.pos, format!("expected: IDENT | STRING got: {}", tok.typ)));
                    return (keys, err);
                }
                TokenType::Ident | TokenType::String => keys.push(tok),
                TokenType::Illegal => return (keys, Some(at(tok.pos, "illegal character"))),
                other => {
                    return (
                        keys,
                        Some(at(tok.pos, format!("expected: IDENT | STRING | ASSIGN | LBRACE got: {other}"))),
                    );
                }
            }
        }
    }

    fn object(&mut self) -> Result<Node, Failure> {
        let tok = self.scan();
        match tok.typ {
            TokenType::Number | TokenType::Float | TokenType::Bool | TokenType::String | TokenType::Heredoc => {
                Ok(Node::Literal(self.literal_type()))
            }
            TokenType::LBrace => Ok(Node::Object(self.object_type()?)),
            TokenType::LBrack => Ok(Node::List(self.list_type()?)),
            TokenType::Eof => Err(Failure::Eof),
            _ => Err(at(tok.pos, format!("Unknown token: {} {} {}", tok.pos, tok.typ, tok.text))),
        }
    }

    fn object_type(&mut self) -> Result<ObjectType, Failure> {
        let lbrace = self.tok.pos;
        // hcl's source would continue past an error met at a `}`; the parser bao 2.7 ships
        // reports it, and so does this one.
        let list = self.object_list(true)?;
        let tok = self.scan();
        if tok.typ != TokenType::RBrace {
            return Err(at(tok.pos, format!("object expected closing RBRACE got: {}", tok.typ)));
        }
        Ok(ObjectType { lbrace, rbrace: self.tok.pos, list })
    }

    fn list_type(&mut self) -> Result<ListType, Failure> {
        let mut l = ListType { lbrack: self.tok.pos, rbrack: Pos::default(), list: Vec::new() };
        let mut need_comma = false;
        loop {
            let tok = self.scan();
            if need_comma && !matches!(tok.typ, TokenType::Comma | TokenType::RBrack) {
                return Err(at(tok.pos, format!("error parsing list, expected comma or list end, got: {}", tok.typ)));
            }
            match tok.typ {
                TokenType::Bool | TokenType::Number | TokenType::Float | TokenType::String | TokenType::Heredoc => {
                    let mut node = self.literal_type();
                    if let Some(lead) = self.lead_comment.take() {
                        node.lead_comment = Some(lead);
                    }
                    l.list.push(Node::Literal(node));
                    need_comma = true;
                }
                TokenType::Comma => {
                    // Look ahead for a line comment on the item just finished.
                    self.scan();
                    if self.line_comment.is_some() {
                        if let Some(Node::Literal(lit)) = l.list.last_mut() {
                            lit.line_comment = self.line_comment.take();
                        }
                    }
                    self.unscan();
                    need_comma = false;
                }
                TokenType::LBrace => {
                    let node = self.object_type().map_err(|e| match e {
                        Failure::Msg(m) => at(tok.pos, format!("error while trying to parse object within list: {m}")),
                        Failure::Eof => at(tok.pos, "error while trying to parse object within list: EOF token found"),
                    })?;
                    l.list.push(Node::Object(node));
                    need_comma = true;
                }
                TokenType::LBrack => {
                    let node = self.list_type().map_err(|e| match e {
                        Failure::Msg(m) => at(tok.pos, format!("error while trying to parse list within list: {m}")),
                        Failure::Eof => at(tok.pos, "error while trying to parse list within list: EOF token found"),
                    })?;
                    l.list.push(Node::List(node));
                }
                TokenType::RBrack => {
                    l.rbrack = self.tok.pos;
                    return Ok(l);
                }
                other => return Err(at(tok.pos, format!("unexpected token while parsing list: {other}"))),
            }
        }
    }

    fn literal_type(&self) -> LiteralType {
        LiteralType { token: self.tok.clone(), lead_comment: None, line_comment: None }
    }

    /// The next token, collecting comment groups on the way and noting lead and line
    /// comments as Go's parser does.
    fn scan(&mut self) -> Token {
        if self.buffered {
            self.buffered = false;
            return self.tok.clone();
        }
        let prev = self.tok.clone();
        self.tok = self.sc.scan();
        if self.tok.typ == TokenType::Comment {
            let mut comment = None;
            if self.tok.pos.line == prev.pos.line {
                let (group, endline) = self.consume_comment_group(0);
                comment = Some(group);
                if self.tok.pos.line != endline {
                    self.line_comment = Some(group);
                }
            }
            let mut endline: i64 = -1;
            while self.tok.typ == TokenType::Comment {
                let (group, e) = self.consume_comment_group(1);
                comment = Some(group);
                endline = e as i64;
            }
            if endline + 1 == self.tok.pos.line as i64 && !matches!(self.tok.typ, TokenType::RBrace | TokenType::RBrack)
            {
                self.lead_comment = comment;
            }
        }
        self.tok.clone()
    }

    fn unscan(&mut self) {
        self.buffered = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        match parse(src, true) {
            Err(e) => e.0,
            Ok(f) => panic!("parsed: {f:?}"),
        }
    }

    /// Syntax errors carry Go's texts and positions.
    #[test]
    fn errors_match_go() {
        assert_eq!(err("path \"x\" {"), "At 1:12: object expected closing RBRACE got: EOF");
        assert_eq!(err("path \"a\" \n"), "At 2:1: key 'path \"a\"' expected start of object ('{') or assignment ('=')");
        assert_eq!(
            err("path \"a\" {\n  capabilities = [\"read\"\n}\n"),
            "At 3:1: error parsing list, expected comma or list end, got: RBRACE"
        );
        assert_eq!(err("path \"a\" {\n  x = \n}\n"), "At 3:1: Unknown token: 3:1 RBRACE }");
        assert_eq!(err("a = \"unterminated\n"), "At 1:18: literal not terminated");
        assert_eq!(err("path \"a\" { { }\n"), "At 1:12: expected: IDENT | STRING got: LBRACE");
        assert_eq!(
            err("name = \"x\"\nname = \"y\"\n"),
            "The argument \"name\" at 2:1 was already set. Each argument can only be defined once"
        );
        assert!(parse("name = \"x\"\nname = \"y\"\n", false).is_ok());
    }

    /// Comments attach as lead and line comments where Go attaches them.
    #[test]
    fn comments_attach() {
        let f = match parse("# lead\na = 1 # line\n\n# alone\n", false) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        };
        let item = &f.node.items[0];
        assert_eq!(item.lead_comment, Some(0));
        assert_eq!(item.line_comment, Some(1));
        assert_eq!(f.comments.len(), 3);
    }
}
