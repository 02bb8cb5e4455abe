#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_usage::{parse_import, RowError};

const K1: &str = "apikey1234abcdefghij0123456789";
const K2: &str = "anotherkey_0123456789-ABCDEFGH";
const K3: &str = "thirdkeyvalue0123456789abcdef";

#[test]
fn aws_example() {
    let text =
        format!("Enabled,Name,key,UsageplanIds\ntrue,MyFirstApiKey,{K1},\"c7y23b,glvrsr\"\n");
    let rows = parse_import(&text).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.line, 2);
    assert_eq!(r.name, "MyFirstApiKey");
    assert_eq!(r.key, K1);
    assert!(r.enabled);
    assert_eq!(r.description, "");
    assert_eq!(r.usage_plan_ids, vec!["c7y23b", "glvrsr"]);
}

#[test]
fn headers_any_order_and_case_and_optional_columns() {
    let text = format!(
        " KEY , description,NAME,Extra,ENABLED\n{K1},first key,one,ignored,FALSE\n{K2},,two,x,True\n"
    );
    let rows = parse_import(&text).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].name.as_str(), rows[0].key.as_str()), ("one", K1));
    assert_eq!(rows[0].description, "first key");
    assert!(!rows[0].enabled);
    assert!(rows[1].enabled);
    assert!(rows[1].usage_plan_ids.is_empty());

    // Only the required columns: enabled defaults to true.
    let rows = parse_import(&format!("Name,Key\nx,{K1}\n")).unwrap();
    assert!(rows[0].enabled);
}

#[test]
fn quoting_commas_doubled_quotes_and_newlines() {
    let text = format!(
        "Name,Key,Description,UsagePlanIds\n\"Smith, \"\"Bob\"\"\",{K1},\"line one\nline two, with comma\",\" a1 , b2 ,,a1\"\n{K2}x,{K2},plain,\n"
    );
    // Second data row has a 4th field empty; first line's name has "Bob" quoted.
    let rows = parse_import(&text).unwrap();
    assert_eq!(rows[0].name, "Smith, \"Bob\"");
    assert_eq!(rows[0].description, "line one\nline two, with comma");
    assert_eq!(rows[0].usage_plan_ids, vec!["a1", "b2"]);
    assert_eq!(rows[0].line, 2);
    // The multi-line field moves the next row to line 4.
    assert_eq!(rows[1].line, 4);
    assert!(rows[1].usage_plan_ids.is_empty());
}

#[test]
fn crlf_bom_and_blank_lines() {
    let text = format!("\u{feff}Name,Key\r\n\r\none,{K1}\r\n   \r\ntwo,{K2}\r\n\r\n");
    let rows = parse_import(&text).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].name, "one");
    assert_eq!(rows[0].key, K1, "no stray CR or BOM");
    assert_eq!(rows[0].line, 3);
    assert_eq!(rows[1].line, 5);
    // Without a trailing newline.
    let rows = parse_import(&format!("Name,Key\r\none,{K1}")).unwrap();
    assert_eq!(rows[0].key, K1);
}

fn lines(errs: &[RowError]) -> Vec<usize> {
    errs.iter().map(|e| e.line).collect()
}

#[test]
fn every_bad_row_is_reported_with_its_line() {
    let text = format!(
        "Name,Key,Enabled,Description\n\
         good,{K1},true,\"multi\nline\"\n\
         ,{K2},true,empty name\n\
         bad-key,short,true,x\n\
         good2,{K3},true,\"another\n\nmulti-line\"\n\
         bad-enabled,{K2}X,maybe,x\n\
         too,many,fields,here,x\n"
    );
    let errs = parse_import(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![4, 5, 9, 10], "{errs:?}");
    assert!(errs[0].message.contains("Name"), "{}", errs[0]);
    assert!(errs[1].message.contains("Key"), "{}", errs[1]);
    assert!(errs[2].message.contains("Enabled"), "{}", errs[2]);
    assert!(errs[3].message.contains("expected 4 fields"), "{}", errs[3]);
    assert_eq!(errs[0].to_string(), format!("line 4: {}", errs[0].message));
}

#[test]
fn three_bad_rows_of_different_kinds() {
    let text = format!(
        "Name,Key,Description\n\
         ok,{K1},\"multi\nline, description\"\n\
         ,{K3},empty name\n\
         x,not valid key!!!!!!!!!!!,bad key\n\
         a,b\n"
    );
    let errs = parse_import(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![4, 5, 6], "{errs:?}");
}

#[test]
fn duplicate_key_names_the_first_line() {
    let text = format!("Name,Key\none,{K1}\ntwo,{K2}\nthree,{K1}\n");
    let errs = parse_import(&text).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 4);
    assert!(errs[0].message.contains("line 2"), "{}", errs[0]);
}

#[test]
fn header_problems() {
    let errs = parse_import(&format!("Name,Description\nx,{K1}\n")).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 1);
    assert!(errs[0].message.contains("Key"), "{}", errs[0]);

    let errs = parse_import("Key,Key,Name\n").unwrap_err();
    assert!(errs[0].message.contains("duplicate"), "{}", errs[0]);

    for empty in ["", "\n\n", "\u{feff}", "  \r\n"] {
        let errs = parse_import(empty).unwrap_err();
        assert_eq!(errs.len(), 1, "{empty:?}");
        assert_eq!(errs[0].line, 1);
        assert!(errs[0].message.contains("empty"));
    }

    // A header alone is a valid, empty import.
    assert!(parse_import("Name,Key\n").unwrap().is_empty());
}

#[test]
fn malformed_quotes() {
    let text =
        format!("Name,Key\n\"closed\"junk,{K1}\nna\"me,{K2}\nok,{K3}\n\"unterminated,{K1}\nmore\n");
    let errs = parse_import(&text).unwrap_err();
    assert_eq!(lines(&errs), vec![2, 3, 5], "{errs:?}");
    assert!(errs[2].message.contains("unterminated"));
}

#[test]
fn key_values_never_appear_in_errors() {
    let long_bad = format!("{K1}{K1}{K1}{K1}{K1}"); // too long
    let with_bang = format!("{K2}!");
    let text = format!(
        "Name,Key,Enabled\n,{K1},true\nx,{long_bad},true\ny,{with_bang},true\nz,{K3},nope\nw,{K3},true\nv,{K1},true,extra\n\"open,{K2},true\n"
    );
    let errs = parse_import(&text).unwrap_err();
    assert!(errs.len() >= 6, "{errs:?}");
    for e in &errs {
        let s = format!("{e} {e:?}");
        for secret in [K1, K2, K3, &long_bad, &with_bang] {
            assert!(!s.contains(&secret[..12]), "{s}");
        }
    }
}

#[test]
fn row_debug_hides_the_key() {
    let rows = parse_import(&format!("Name,Key\nx,{K1}\n")).unwrap();
    let dbg = format!("{:?}", rows[0]);
    assert!(!dbg.contains(K1), "{dbg}");
    assert!(dbg.contains("apikey1"));
}
