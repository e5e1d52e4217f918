//! One writer for every table: CSV with a header, or JSON Lines, behind [`Table`]. A table's
//! row type is declared with [`row!`](crate::row), whose fields, in order, are its columns,
//! stated once: the CSV header and cells and the JSON keys all come from them.
//!
//! CSV cells: lists joined by `;`, an absent value empty, fractional numbers with three
//! decimals; text goes through [`csv_cell`](crate::tables::csv_cell) (no formulas, control characters
//! escaped). JSON Lines keep the exact values in the columns' order, an empty string as
//! `null`, and a value with parts (an exchange, a score reason) as an object, where its CSV
//! cell has its text ([`in_csv_cell`] tells which is being written).

use std::io::{self, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::tables::Format;

thread_local! {
    static IN_CSV_CELL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the value being serialized goes into a CSV cell (else JSON): a value with parts (an
/// exchange, a score reason) writes its compact text there and an object in JSON. Not serde's
/// `is_human_readable`, which would also turn IP addresses into bytes.
pub fn in_csv_cell() -> bool {
    IN_CSV_CELL.get()
}

/// A row of a table.
pub trait Row: Serialize {
    /// The row type with its borrows `'static`: what a [`Table`] is of, so one table takes
    /// rows borrowing from anywhere.
    type Kind;
    /// The columns, in order (from the fields of [`row!`](crate::row)).
    const COLUMNS: &'static [&'static str];
}

/// Declares a table's row type: a struct deriving `Serialize` whose field names, in order, are
/// the table's columns (a raw identifier such as `r#type` is the column `type`).
#[macro_export]
macro_rules! row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> { $($fields:tt)* }
    ) => {
        $crate::row!(@define [$(#[$meta])*] $name [<$lt>] [$name<'static>] { $($fields)* });
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($fields:tt)* }
    ) => {
        $crate::row!(@define [$(#[$meta])*] $name [] [$name] { $($fields)* });
    };
    (
        @define [$($meta:tt)*] $name:ident [$($generics:tt)*] [$owned:ty]
        { $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )* }
    ) => {
        $($meta)*
        #[derive(serde::Serialize)]
        pub struct $name $($generics)* {
            $( $(#[$field_meta])* pub $field : $ty, )*
        }
        impl $($generics)* $crate::tables::table::Row for $name $($generics)* {
            type Kind = $owned;
            const COLUMNS: &'static [&'static str] =
                &[$( $crate::tables::table::column(stringify!($field)) ),*];
        }
    };
}

/// A column's name from a field's: without the `r#` of a raw identifier.
pub const fn column(field: &'static str) -> &'static str {
    match field.as_bytes() {
        [b'r', b'#', ..] => field.split_at(2).1,
        _ => field,
    }
}

/// The file side of a table, whatever its rows: a CSV or JSON Lines writer whose errors name
/// the file. The journal flushes and measures it; the retry pass copies rows into it.
pub struct TableFile<W: Write> {
    path: PathBuf,
    csv: Option<csv::Writer<W>>,
    jsonl: Option<BufWriter<W>>,
}

impl<W: Write> TableFile<W> {
    fn error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", self.path.display()),
        )
    }

    /// Copies a row read back from a CSV table of this layout, as it was.
    pub fn copy_csv_row(&mut self, record: &csv::ByteRecord) -> io::Result<()> {
        let written = match self.csv.as_mut() {
            Some(w) => w.write_byte_record(record).map_err(io::Error::from),
            None => Err(io::Error::other("a CSV row for a JSON Lines table")),
        };
        written.map_err(|e| self.error(e))
    }

    /// Copies a line read back from a JSON Lines table, as it was.
    pub fn copy_line(&mut self, line: &[u8]) -> io::Result<()> {
        let written = match self.jsonl.as_mut() {
            Some(w) => w.write_all(line),
            None => Err(io::Error::other("a JSON line for a CSV table")),
        };
        written.map_err(|e| self.error(e))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        let result = match (self.csv.as_mut(), self.jsonl.as_mut()) {
            (Some(w), _) => w.flush(),
            (_, Some(w)) => w.flush(),
            _ => Ok(()),
        };
        result.map_err(|e| self.error(e))
    }

    /// The file under the table's buffer (flush first to see everything written).
    pub fn file(&self) -> &W {
        match (self.csv.as_ref(), self.jsonl.as_ref()) {
            (Some(w), _) => w.get_ref(),
            (_, Some(w)) => w.get_ref(),
            _ => unreachable!("a table has a writer"),
        }
    }

    /// Runs `op` on the file, its error naming the file.
    pub fn with_file<T>(&self, op: impl FnOnce(&W) -> io::Result<T>) -> io::Result<T> {
        op(self.file()).map_err(|e| self.error(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A table of rows `R` written to `W` as CSV or JSON Lines.
pub struct Table<R, W: Write> {
    file: TableFile<W>,
    /// Pass-through columns after `R`'s (a CSV input's other columns), by header; in JSON
    /// Lines an `input` object.
    extra: Vec<String>,
    /// The cells of the row being written, kept between rows so that a row allocates nothing
    /// once the cells have grown to their widths.
    cells: Vec<String>,
    row: PhantomData<fn(&R)>,
}

impl<R, W: Write> std::ops::Deref for Table<R, W> {
    type Target = TableFile<W>;
    fn deref(&self) -> &TableFile<W> {
        &self.file
    }
}

impl<R, W: Write> std::ops::DerefMut for Table<R, W> {
    fn deref_mut(&mut self) -> &mut TableFile<W> {
        &mut self.file
    }
}

impl<R: Row<Kind = R>, W: Write> Table<R, W> {
    /// A new table writing to `out` (stdout or a file not tracked), starting with its header.
    pub fn new(out: W, format: Format, extra: &[String]) -> io::Result<Self> {
        Self::open(out, PathBuf::from("the output"), format, extra, true)
    }

    /// A table writing to `out`, the file at `path`; with `header`, written first (CSV only;
    /// not when appending to a table that has one).
    pub fn open(
        out: W,
        path: PathBuf,
        format: Format,
        extra: &[String],
        header: bool,
    ) -> io::Result<Self> {
        let mut file = TableFile {
            path,
            csv: None,
            jsonl: None,
        };
        match format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .buffer_capacity(1 << 16)
                    .from_writer(out);
                if header {
                    // Pass-through names come from the input: cells like any other text.
                    let extra = extra.iter().map(|name| {
                        let mut name = name.clone();
                        crate::tables::csv_cell(&mut name);
                        name
                    });
                    let columns = (R::COLUMNS.iter().map(|c| c.to_string())).chain(extra);
                    let written = w.write_record(columns);
                    written.map_err(|e| file.error(e.into()))?;
                }
                file.csv = Some(w);
            }
            Format::Jsonl => file.jsonl = Some(BufWriter::with_capacity(1 << 16, out)),
        }
        Ok(Table {
            file,
            extra: extra.to_vec(),
            cells: Vec::new(),
            row: PhantomData,
        })
    }

    /// Writes one row.
    pub fn write<T: Row<Kind = R>>(&mut self, row: &T) -> io::Result<()> {
        self.write_with(row, &[])
    }

    /// Writes one row with the values of the pass-through columns (missing ones empty).
    pub fn write_with<T: Row<Kind = R>>(&mut self, row: &T, extra: &[String]) -> io::Result<()> {
        let padded = || {
            extra
                .iter()
                .cloned()
                .chain(std::iter::repeat(String::new()))
        };
        let written = if let Some(w) = self.file.csv.as_mut() {
            let mut used = 0;
            IN_CSV_CELL.set(true);
            let serialized = row.serialize(cells::Cells {
                cells: &mut self.cells,
                used: &mut used,
            });
            IN_CSV_CELL.set(false);
            serialized.map_err(io::Error::other)?;
            debug_assert_eq!(used, T::COLUMNS.len(), "{:?}", T::COLUMNS);
            let values = extra
                .iter()
                .map(String::as_str)
                .chain(std::iter::repeat(""));
            for value in values.take(self.extra.len()) {
                cells::next_cell(&mut self.cells, &mut used).push_str(value);
            }
            let cells = &mut self.cells[..used];
            cells.iter_mut().for_each(crate::tables::csv_cell);
            w.write_record(&*cells).map_err(io::Error::from)
        } else if let Some(w) = self.file.jsonl.as_mut() {
            let value = crate::tables::jsonl_row(row).map(|mut v| {
                if let serde_json::Value::Object(fields) = &mut v
                    && !self.extra.is_empty()
                {
                    let input = (self.extra.iter().cloned())
                        .zip(padded())
                        .map(|(k, v)| (k, v.into()))
                        .collect();
                    fields.insert("input".into(), serde_json::Value::Object(input));
                }
                v
            });
            value
                .and_then(|v| serde_json::to_writer(&mut *w, &v))
                .map_err(io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
        } else {
            Ok(())
        };
        written.map_err(|e| self.file.error(e))
    }
}

/// A row's fields as CSV cells, by serde.
mod cells {
    use serde::ser::{self, Impossible, Serialize};
    use std::fmt::Display;

    #[derive(Debug)]
    pub struct Error(String);
    impl Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Error {}
    impl ser::Error for Error {
        fn custom<T: Display>(msg: T) -> Self {
            Error(msg.to_string())
        }
    }

    fn unsupported<T>(what: &str) -> Result<T, Error> {
        Err(Error(format!("a table cell cannot hold {what}")))
    }

    /// Serializes a row (a struct) into one cell per field: `cells[..used]`, the strings
    /// after them kept for their capacity.
    pub struct Cells<'a> {
        pub cells: &'a mut Vec<String>,
        pub used: &'a mut usize,
    }

    /// The next cell, empty: a kept string if there is one.
    pub fn next_cell<'a>(cells: &'a mut Vec<String>, used: &mut usize) -> &'a mut String {
        if *used == cells.len() {
            cells.push(String::new());
        }
        let cell = &mut cells[*used];
        *used += 1;
        cell.clear();
        cell
    }

    /// Serializes one value into one cell; a list's items go in joined by `;`.
    struct Cell<'a>(&'a mut String);

    /// Serializer methods that refuse their value, as `fn name(argument types) -> Ok type;`.
    macro_rules! refuse {
        ($what:expr; $( fn $name:ident $(<$g:ident>)? ( $($arg:ty),* ) -> $ret:ty; )*) => {
            $(
                fn $name $(<$g: ?Sized + Serialize>)? (self, $(_: $arg),*) -> Result<$ret, Error> {
                    unsupported($what)
                }
            )*
        };
    }

    impl<'a> ser::Serializer for Cells<'a> {
        type Ok = ();
        type Error = Error;
        type SerializeSeq = Impossible<(), Error>;
        type SerializeTuple = Impossible<(), Error>;
        type SerializeTupleStruct = Impossible<(), Error>;
        type SerializeTupleVariant = Impossible<(), Error>;
        type SerializeMap = Impossible<(), Error>;
        type SerializeStruct = Self;
        type SerializeStructVariant = Impossible<(), Error>;

        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
            Ok(self)
        }

        refuse! { "a row that is not a struct";
            fn serialize_bool(bool) -> ();
            fn serialize_i8(i8) -> ();
            fn serialize_i16(i16) -> ();
            fn serialize_i32(i32) -> ();
            fn serialize_i64(i64) -> ();
            fn serialize_u8(u8) -> ();
            fn serialize_u16(u16) -> ();
            fn serialize_u32(u32) -> ();
            fn serialize_u64(u64) -> ();
            fn serialize_f32(f32) -> ();
            fn serialize_f64(f64) -> ();
            fn serialize_char(char) -> ();
            fn serialize_str(&str) -> ();
            fn serialize_bytes(&[u8]) -> ();
            fn serialize_none() -> ();
            fn serialize_some<T>(&T) -> ();
            fn serialize_unit() -> ();
            fn serialize_unit_struct(&'static str) -> ();
            fn serialize_unit_variant(&'static str, u32, &'static str) -> ();
            fn serialize_newtype_struct<T>(&'static str, &T) -> ();
            fn serialize_newtype_variant<T>(&'static str, u32, &'static str, &T) -> ();
            fn serialize_seq(Option<usize>) -> Self::SerializeSeq;
            fn serialize_tuple(usize) -> Self::SerializeTuple;
            fn serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
            fn serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
            fn serialize_map(Option<usize>) -> Self::SerializeMap;
            fn serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
        }
    }

    impl ser::SerializeStruct for Cells<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_field<T: ?Sized + Serialize>(
            &mut self,
            _: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(Cell(next_cell(self.cells, self.used)))
        }
        fn end(self) -> Result<(), Error> {
            Ok(())
        }
    }

    impl Cell<'_> {
        /// An integer, without `fmt` (most cells of a row are counts).
        fn integer(self, v: impl itoa::Integer) -> Result<(), Error> {
            self.0.push_str(itoa::Buffer::new().format(v));
            Ok(())
        }

        fn text(self, v: impl Display) -> Result<(), Error> {
            use std::fmt::Write;
            write!(self.0, "{v}").map_err(|e| Error(e.to_string()))
        }
    }

    impl<'a> ser::Serializer for Cell<'a> {
        type Ok = ();
        type Error = Error;
        type SerializeSeq = Self;
        type SerializeTuple = Impossible<(), Error>;
        type SerializeTupleStruct = Impossible<(), Error>;
        type SerializeTupleVariant = Impossible<(), Error>;
        type SerializeMap = Impossible<(), Error>;
        type SerializeStruct = Impossible<(), Error>;
        type SerializeStructVariant = Impossible<(), Error>;

        fn serialize_bool(self, v: bool) -> Result<(), Error> {
            self.text(v)
        }
        fn serialize_i8(self, v: i8) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_i16(self, v: i16) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_i32(self, v: i32) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_i64(self, v: i64) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_u8(self, v: u8) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_u16(self, v: u16) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_u32(self, v: u32) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_u64(self, v: u64) -> Result<(), Error> {
            self.integer(v)
        }
        fn serialize_f32(self, v: f32) -> Result<(), Error> {
            self.serialize_f64(f64::from(v))
        }
        fn serialize_f64(self, v: f64) -> Result<(), Error> {
            self.text(format_args!("{v:.3}"))
        }
        fn serialize_char(self, v: char) -> Result<(), Error> {
            self.text(v)
        }
        fn serialize_str(self, v: &str) -> Result<(), Error> {
            self.0.push_str(v);
            Ok(())
        }
        fn serialize_none(self) -> Result<(), Error> {
            Ok(())
        }
        fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Error> {
            v.serialize(self)
        }
        fn serialize_unit(self) -> Result<(), Error> {
            Ok(())
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
            Ok(())
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            v: &T,
        ) -> Result<(), Error> {
            v.serialize(self)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self, Error> {
            Ok(self)
        }

        refuse! { "a nested value";
            fn serialize_bytes(&[u8]) -> ();
            fn serialize_newtype_variant<T>(&'static str, u32, &'static str, &T) -> ();
            fn serialize_tuple(usize) -> Self::SerializeTuple;
            fn serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
            fn serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
            fn serialize_map(Option<usize>) -> Self::SerializeMap;
            fn serialize_struct(&'static str, usize) -> Self::SerializeStruct;
            fn serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
        }
    }

    /// A list: items joined by `;`.
    impl ser::SerializeSeq for Cell<'_> {
        type Ok = ();
        type Error = Error;
        fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
            if !self.0.is_empty() {
                self.0.push(';');
            }
            v.serialize(Cell(self.0))
        }
        fn end(self) -> Result<(), Error> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::row! {
        /// A row with every kind of cell.
        pub struct Sample<'a> {
            pub name: &'a str,
            pub r#type: &'static str,
            pub list: Vec<String>,
            pub missing: Option<u8>,
            pub rtt_ms: Option<f64>,
            pub flag: bool,
        }
    }

    fn written(format: Format) -> String {
        let mut table =
            Table::<Sample<'static>, Vec<u8>>::new(Vec::new(), format, &["rank".into()]).unwrap();
        let row = Sample {
            name: "=cmd",
            r#type: "MX",
            list: vec!["a".into(), "b\n".into()],
            missing: None,
            rtt_ms: Some(1.5),
            flag: true,
        };
        table.write_with(&row, &["7".into()]).unwrap();
        table.write(&row).unwrap();
        table.flush().unwrap();
        String::from_utf8(table.file().clone()).unwrap()
    }

    #[test]
    fn columns_come_from_the_fields_once() {
        assert_eq!(
            Sample::COLUMNS,
            ["name", "type", "list", "missing", "rtt_ms", "flag"]
        );
        assert_eq!(
            written(Format::Csv),
            "name,type,list,missing,rtt_ms,flag,rank\n'=cmd,MX,a;b\\010,,1.500,true,7\n'=cmd,MX,a;b\\010,,1.500,true,\n"
        );
        let jsonl = written(Format::Jsonl);
        let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(
            first,
            serde_json::json!({"name": "=cmd", "type": "MX", "list": ["a", "b\n"], "missing": null,
                "rtt_ms": 1.5, "flag": true, "input": {"rank": "7"}})
        );
    }
}
