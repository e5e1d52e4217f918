//! A zero-copy view of a DNS message's header, question and EDNS0 OPT record.
//!
//! The hot paths (the sim's responder and the engine's reply matcher) need only these
//! parts of a message, so they are read here without allocating; full decoding of records is
//! left to hickory-proto where it is needed. Everything read here may come from a hostile peer:
//! every access is bounds-checked and a malformed message is an `Err`, never a panic.

use std::fmt;

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// Maximum UDP payload a client without EDNS0 may receive (RFC 1035 §4.2.1).
pub const CLASSIC_UDP_LIMIT: usize = 512;
/// The OPT record's type (RFC 6891 §6.1.2).
pub const TYPE_OPT: u16 = 41;
/// Longest wire-format name (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message shorter than its header")]
    ShortHeader,
    #[error("message is not a single-question query")]
    QuestionCount,
    #[error("question name is malformed")]
    BadName,
    #[error("message ends inside the question")]
    ShortQuestion,
}

/// The 16-bit flags word of the header, with accessors for the bits we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u16);

impl Flags {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;

    pub fn is_response(self) -> bool {
        self.0 & Self::QR != 0
    }
    pub fn opcode(self) -> u8 {
        ((self.0 >> 11) & 0xF) as u8
    }
    pub fn truncated(self) -> bool {
        self.0 & Self::TC != 0
    }
    pub fn recursion_desired(self) -> bool {
        self.0 & Self::RD != 0
    }
    pub fn rcode(self) -> Rcode {
        Rcode::new(self.0 as u8)
    }
}

/// The question of a single-question message, borrowed from the message bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QuestionView<'a> {
    /// The name exactly as it appears on the wire (uncompressed labels, ending in the root).
    pub name_wire: &'a [u8],
    pub qtype: u16,
    pub qclass: u16,
}

impl QuestionView<'_> {
    /// The question name in presentation form, lower-cased, with a trailing dot.
    pub fn name_lowercase(&self) -> String {
        let mut out = String::with_capacity(self.name_wire.len() + 1);
        for label in Labels(self.name_wire) {
            for &b in label {
                push_escaped(&mut out, b.to_ascii_lowercase());
            }
            out.push('.');
        }
        if out.is_empty() {
            out.push('.');
        }
        out
    }

    /// The question name as a lower-cased hickory `Name`, built from the raw labels (no IDNA
    /// processing, which is slow and would refuse names a hostile peer may well send).
    pub fn name(&self) -> Option<hickory_proto::rr::Name> {
        let labels = Labels(self.name_wire).map(|l| l.to_ascii_lowercase());
        let mut name = hickory_proto::rr::Name::from_labels(labels).ok()?;
        name.set_fqdn(true);
        Some(name)
    }

    /// Whether two wire names are equal ignoring ASCII case (so 0x20 randomisation matches).
    pub fn same_name(&self, other_wire: &[u8]) -> bool {
        self.name_wire.eq_ignore_ascii_case(other_wire)
    }
}

impl fmt::Debug for QuestionView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} type {} class {}",
            self.name_lowercase(),
            self.qtype,
            self.qclass
        )
    }
}

/// Header, question and (for queries) the EDNS0 UDP payload size of a message.
#[derive(Debug, Clone, Copy)]
pub struct MessageView<'a> {
    pub id: u16,
    pub flags: Flags,
    pub question: QuestionView<'a>,
    /// Offset just past the question section.
    pub question_end: usize,
    /// The requestor's UDP payload size if an OPT record was found in the additional section.
    pub edns_udp_size: Option<u16>,
    pub answer_count: u16,
    pub authority_count: u16,
    pub additional_count: u16,
}

impl<'a> MessageView<'a> {
    /// Reads the header and the single question; looks for an OPT record only when the message
    /// carries nothing but additional records (a query), so replies cost no record walking.
    pub fn parse(msg: &'a [u8]) -> Result<Self, WireError> {
        if msg.len() < HEADER_LEN {
            return Err(WireError::ShortHeader);
        }
        let word = |at: usize| u16::from_be_bytes([msg[at], msg[at + 1]]);
        let id = word(0);
        let flags = Flags(word(2));
        if word(4) != 1 {
            return Err(WireError::QuestionCount);
        }
        let (answer_count, authority_count, additional_count) = (word(6), word(8), word(10));
        let name_len = name_wire_len(&msg[HEADER_LEN..])?;
        let name_end = HEADER_LEN + name_len;
        let question_end = name_end + 4;
        if msg.len() < question_end {
            return Err(WireError::ShortQuestion);
        }
        let question = QuestionView {
            name_wire: &msg[HEADER_LEN..name_end],
            qtype: word(name_end),
            qclass: word(name_end + 2),
        };
        let edns_udp_size = if answer_count == 0 && authority_count == 0 && additional_count > 0 {
            find_opt_udp_size(&msg[question_end..], additional_count)
        } else {
            None
        };
        Ok(MessageView {
            id,
            flags,
            question,
            question_end,
            edns_udp_size,
            answer_count,
            authority_count,
            additional_count,
        })
    }
}

/// Length of an uncompressed wire name at the start of `buf`, including the root label.
/// Compression pointers are refused: a question's name never needs one.
pub fn name_wire_len(buf: &[u8]) -> Result<usize, WireError> {
    let mut at = 0;
    loop {
        let len = *buf.get(at).ok_or(WireError::BadName)? as usize;
        if len & 0xC0 != 0 {
            return Err(WireError::BadName);
        }
        at += 1 + len;
        if at > MAX_NAME_LEN || at > buf.len() {
            return Err(WireError::BadName);
        }
        if len == 0 {
            return Ok(at);
        }
    }
}

/// The UDP payload size of the first OPT record among `count` additional records.
fn find_opt_udp_size(mut rest: &[u8], count: u16) -> Option<u16> {
    for _ in 0..count {
        // An OPT record's owner is the root; any other owner name is skipped label by label.
        let name_len = skip_name(rest)?;
        let fixed = rest.get(name_len..name_len + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        if rtype == TYPE_OPT {
            return Some(class);
        }
        rest = rest.get(name_len + 10 + rdlen..)?;
    }
    None
}

/// Length of a possibly compressed name (a pointer ends it).
fn skip_name(buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = *buf.get(at)? as usize;
        match len & 0xC0 {
            0 if len == 0 => return Some(at + 1),
            0 => at += 1 + len,
            0xC0 => return Some(at + 2),
            _ => return None,
        }
        if at > MAX_NAME_LEN {
            return None;
        }
    }
}

/// Iterates over the labels of an uncompressed wire name (already length-checked).
struct Labels<'a>(&'a [u8]);

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.0.first()? as usize;
        if len == 0 || self.0.len() < 1 + len {
            return None;
        }
        let label = &self.0[1..1 + len];
        self.0 = &self.0[1 + len..];
        Some(label)
    }
}

/// Presentation-format escaping of one name octet (RFC 4343 §2.1).
fn push_escaped(out: &mut String, b: u8) {
    match b {
        b'.' | b'\\' => {
            out.push('\\');
            out.push(b as char);
        }
        0x21..=0x7E => out.push(b as char),
        _ => {
            out.push('\\');
            out.push_str(&format!("{b:03}"));
        }
    }
}

/// A response code from a message header (RFC 1035 §4.1.1: four bits; mxscan does not use
/// EDNS0's extended codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Rcode(u8);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
    pub const FORMERR: Rcode = Rcode(1);
    pub const SERVFAIL: Rcode = Rcode(2);
    pub const NXDOMAIN: Rcode = Rcode(3);
    pub const NOTIMP: Rcode = Rcode(4);
    pub const REFUSED: Rcode = Rcode(5);

    /// The code of a header's low four bits (higher bits are dropped).
    pub const fn new(value: u8) -> Rcode {
        Rcode(value & 0xF)
    }

    pub const fn value(self) -> u8 {
        self.0
    }

    /// The mnemonic, as dig prints it (`RCODE6` and up by number).
    pub const fn name(self) -> &'static str {
        const NAMES: [&str; 16] = [
            "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "RCODE6", "RCODE7",
            "RCODE8", "RCODE9", "RCODE10", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
        ];
        NAMES[self.0 as usize]
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Encodes a presentation-form name (trailing dot optional) into wire form. Used by tools and
/// tests to build queries; escapes are not supported because mxscan only queries hostnames.
pub fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    // Only ASCII goes on the wire: an internationalised name must arrive as A-labels, and
    // anything else (a line that was not UTF-8) is not a name to ask.
    if !name.is_ascii() {
        return Err(WireError::BadName);
    }
    let start = out.len();
    // Presentation form (RFC 1035 §5.1): `\DDD` is the byte DDD, `\X` is X itself (a `.` that
    // is part of a label), an unescaped `.` ends a label. Names read from answers are written
    // this way, so a label holding any byte is asked as it came.
    let mut bytes = name.as_bytes().iter().copied().peekable();
    let mut label: Vec<u8> = Vec::with_capacity(63);
    let end_label = |label: &mut Vec<u8>, out: &mut Vec<u8>| -> Result<(), WireError> {
        if label.len() > 63 {
            return Err(WireError::BadName);
        }
        if !label.is_empty() {
            out.push(label.len() as u8);
            out.append(label);
        }
        Ok(())
    };
    while let Some(b) = bytes.next() {
        match b {
            b'.' => end_label(&mut label, out)?,
            b'\\' => {
                let c = bytes.next().ok_or(WireError::BadName)?;
                if c.is_ascii_digit() {
                    let mut value = u32::from(c - b'0');
                    for _ in 0..2 {
                        let d = bytes
                            .next()
                            .filter(u8::is_ascii_digit)
                            .ok_or(WireError::BadName)?;
                        value = value * 10 + u32::from(d - b'0');
                    }
                    label.push(u8::try_from(value).map_err(|_| WireError::BadName)?);
                } else {
                    label.push(c);
                }
            }
            _ => label.push(b),
        }
    }
    end_label(&mut label, out)?;
    out.push(0);
    if out.len() - start > MAX_NAME_LEN {
        return Err(WireError::BadName);
    }
    Ok(())
}

/// Builds a standard recursive query (RD set), with an OPT record advertising `edns_udp_size`
/// when given.
pub fn build_query(
    id: u16,
    name: &str,
    qtype: u16,
    edns_udp_size: Option<u16>,
) -> Result<Vec<u8>, WireError> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.len() + 2 + 4 + 11);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&Flags::RD.to_be_bytes());
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(edns_udp_size.is_some())]);
    encode_name(name, &mut q)?;
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    if let Some(size) = edns_udp_size {
        push_opt(&mut q, size);
    }
    Ok(q)
}

/// Bytes [`push_opt`] appends.
pub const OPT_LEN: usize = 11;

/// Appends an EDNS0 OPT record (version 0, no flags, no options).
pub fn push_opt(out: &mut Vec<u8>, udp_size: u16) {
    out.push(0);
    out.extend_from_slice(&TYPE_OPT.to_be_bytes());
    out.extend_from_slice(&udp_size.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_presentation_form_go_out_as_their_bytes() {
        let wire = |name: &str| {
            let mut out = Vec::new();
            encode_name(name, &mut out).map(|_| out)
        };
        assert_eq!(wire("a\\.b.c.").unwrap(), b"\x03a.b\x01c\x00");
        assert_eq!(wire("\\000\\255x.t").unwrap(), b"\x03\x00\xffx\x01t\x00");
        assert_eq!(wire("a\\\\b").unwrap(), b"\x03a\\b\x00");
        for bad in ["a\\25", "a\\256", "a\\", "é.test", &"x".repeat(64)] {
            assert_eq!(wire(bad), Err(WireError::BadName), "{bad}");
        }
        // What the pipeline writes for a label of every byte value comes back as those bytes.
        let label: Vec<u8> = (0..52).collect();
        let name = hickory_proto::rr::Name::from_labels([label.as_slice()]).unwrap();
        let text = crate::pipeline::lookup::name_text(&name);
        assert_eq!(wire(&text).unwrap()[1..53], label[..]);
    }

    #[test]
    fn query_round_trips_through_the_view() {
        let q = build_query(0xBEEF, "Mail.Example.test.", 15, Some(1232)).unwrap();
        let v = MessageView::parse(&q).unwrap();
        assert_eq!(v.id, 0xBEEF);
        assert!(!v.flags.is_response());
        assert!(v.flags.recursion_desired());
        assert_eq!(v.question.qtype, 15);
        assert_eq!(v.question.qclass, 1);
        assert_eq!(v.question.name_lowercase(), "mail.example.test.");
        assert_eq!(v.question.name().unwrap().to_ascii(), "mail.example.test.");
        assert_eq!(v.edns_udp_size, Some(1232));
        assert!(v.question.same_name(b"\x04MAIL\x07example\x04TEST\x00"));
        assert!(!v.question.same_name(b"\x04mail\x07example\x03net\x00"));
    }

    #[test]
    fn classic_query_has_no_edns() {
        let q = build_query(1, "example.test", 1, None).unwrap();
        assert_eq!(MessageView::parse(&q).unwrap().edns_udp_size, None);
    }

    #[test]
    fn root_name_and_escapes_render() {
        let q = build_query(1, ".", 2, None).unwrap();
        assert_eq!(
            MessageView::parse(&q).unwrap().question.name_lowercase(),
            "."
        );
        let mut m = q.clone();
        m.truncate(HEADER_LEN);
        m.extend_from_slice(b"\x03a.b\x00\x00\x01\x00\x01");
        assert_eq!(
            MessageView::parse(&m).unwrap().question.name_lowercase(),
            "a\\.b."
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert_eq!(
            MessageView::parse(&[0; 5]).unwrap_err(),
            WireError::ShortHeader
        );
        let mut q = build_query(1, "example.test", 1, None).unwrap();
        q[5] = 2;
        assert_eq!(
            MessageView::parse(&q).unwrap_err(),
            WireError::QuestionCount
        );
        let q = build_query(1, "example.test", 1, None).unwrap();
        assert_eq!(
            MessageView::parse(&q[..q.len() - 1]).unwrap_err(),
            WireError::ShortQuestion
        );
        let mut p = q[..HEADER_LEN].to_vec();
        p.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(MessageView::parse(&p).unwrap_err(), WireError::BadName);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = MessageView::parse(&bytes);
        }
    }
}
