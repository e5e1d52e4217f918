//! Names for `resolve` and `bench`: one per line, blank lines and `#` comments skipped.

use std::io::BufRead;
use std::net::IpAddr;

use hickory_proto::rr::{Name, RecordType};

/// Reads the named file, or stdin for `-` or no path.
pub fn open(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn BufRead + Send>> {
    use anyhow::Context;
    Ok(match path {
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open input {}", p.display()))?,
        )),
    })
}

/// The query name for an input line: trimmed, an internationalised name as A-labels, and for
/// PTR an IP address becomes its `in-addr.arpa`/`ip6.arpa` name. `None` for blank and comment
/// lines. A line that is no name at all is passed on as it is: the engine ends its lookup as
/// BADNAME, which is its row.
pub fn query_name(line: &str, qtype: RecordType) -> Option<String> {
    let line = line.trim().trim_start_matches('\u{feff}');
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    if qtype == RecordType::PTR
        && let Ok(ip) = line.parse::<IpAddr>()
    {
        return Some(Name::from(ip).to_ascii());
    }
    if !line.is_ascii()
        && let Ok(a_labels) = idna::domain_to_ascii(line)
    {
        return Some(a_labels);
    }
    Some(line.to_string())
}

/// The name to report for a query name: the IP for a reverse name asked as PTR.
pub fn display_name(query_name: &str, qtype: RecordType) -> String {
    if qtype == RecordType::PTR
        && (query_name.ends_with(".arpa.") || query_name.ends_with(".arpa"))
        && let Ok(name) = Name::from_ascii(query_name)
        && let Ok(net) = name.parse_arpa_name()
        && net.prefix_len() == net.max_prefix_len()
    {
        return net.addr().to_string();
    }
    // Without the trailing dot, as every table writes names (the root stays `.`).
    match query_name.strip_suffix('.') {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => query_name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptr_inputs_become_arpa_names_and_back() {
        let q = query_name(" 198.51.100.7 ", RecordType::PTR).unwrap();
        assert_eq!(q, "7.100.51.198.in-addr.arpa.");
        assert_eq!(display_name(&q, RecordType::PTR), "198.51.100.7");
        let q6 = query_name("2001:db8::1", RecordType::PTR).unwrap();
        assert!(q6.ends_with("8.b.d.0.1.0.0.2.ip6.arpa."));
        assert_eq!(display_name(&q6, RecordType::PTR), "2001:db8::1");
        assert_eq!(
            query_name("198.51.100.7", RecordType::A).unwrap(),
            "198.51.100.7"
        );
        assert_eq!(
            query_name("Bücher.test", RecordType::A).unwrap(),
            "xn--bcher-kva.test"
        );
        assert_eq!(query_name("# comment", RecordType::MX), None);
        assert_eq!(query_name("  ", RecordType::MX), None);
        assert_eq!(display_name("example.test", RecordType::MX), "example.test");
    }
}
