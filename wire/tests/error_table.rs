//! docs/protocol.md's table of error codes lists exactly [`wire::ErrorCode::ALL`], each with
//! the same `temporary` flag, so the documentation and the code cannot drift apart.

use wire::ErrorCode;

/// The `(code, temporary)` rows of the table whose header is `| code | when | temporary |`.
fn documented_codes() -> Vec<(String, bool)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("docs/protocol.md is readable");
    let mut lines = doc
        .lines()
        .skip_while(|l| l.trim() != "| code | when | temporary |")
        .skip(2); // the header and its |---| line
    let mut rows = Vec::new();
    for line in lines.by_ref().take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let code = cells[0].trim_matches('`').to_owned();
        let temporary = match *cells.last().unwrap() {
            "yes" => true,
            "no" => false,
            other => panic!("row {code}: temporary must be yes or no, not {other:?}"),
        };
        rows.push((code, temporary));
    }
    rows
}

#[test]
fn the_protocol_doc_lists_every_error_code_with_its_temporary_flag() {
    let documented = documented_codes();
    let defined: Vec<(String, bool)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.is_temporary()))
        .collect();
    assert_eq!(
        documented, defined,
        "docs/protocol.md's error table and wire::ErrorCode::ALL differ"
    );
}
