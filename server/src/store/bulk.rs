//! Multi-row INSERTs with bound values, written directly rather than
//! through active models: the capture path inserts tens of thousands of rows
//! a second, and building them as entities cost more than the database's
//! own work.

use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use super::StoreResult;

/// Bound parameters per statement: below SQLite's 32,766 and PostgreSQL's
/// 65,535.
const MAX_PARAMS: usize = 30_000;
/// Rows per statement at most on SQLite: longer VALUES lists cost it more
/// to compile than they save. PostgreSQL takes as many as the parameter
/// bound allows: each statement is a network round trip.
const MAX_SQLITE_ROWS: usize = 500;

/// Rows of `columns.len()` values each, laid out flat.
pub(crate) struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Value>,
}

impl Rows {
    pub(crate) fn new(table: &'static str, columns: &'static [&'static str], rows: usize) -> Self {
        Self {
            table,
            columns,
            values: Vec::with_capacity(rows * columns.len()),
        }
    }

    /// Appends one row; `row` must hold one value per column.
    pub(crate) fn push<const N: usize>(&mut self, row: [Value; N]) {
        debug_assert_eq!(N, self.columns.len());
        self.values.extend(row);
    }

    fn rows_per_statement(&self, backend: DbBackend) -> usize {
        let by_params = (MAX_PARAMS / self.columns.len()).max(1);
        match backend {
            DbBackend::Sqlite => by_params.min(MAX_SQLITE_ROWS),
            _ => by_params,
        }
    }

    /// Statements of `rows_per_statement` rows share one SQL text, so the
    /// driver's prepared-statement cache serves all but the last.
    fn statements(self, backend: DbBackend, suffix: &str) -> Vec<Statement> {
        let per = self.rows_per_statement(backend);
        let Rows {
            table,
            columns,
            values,
        } = self;
        let width = columns.len();
        let total = values.len() / width;
        let full = insert_sql(table, columns, backend, per.min(total), suffix);
        let mut out = Vec::with_capacity(total.div_ceil(per));
        let mut values = values.into_iter();
        let mut done = 0;
        while done < total {
            let rows = per.min(total - done);
            let sql = if rows == per.min(total) {
                full.clone()
            } else {
                insert_sql(table, columns, backend, rows, suffix)
            };
            let chunk: Vec<Value> = values.by_ref().take(rows * width).collect();
            out.push(Statement::from_sql_and_values(backend, sql, chunk));
            done += rows;
        }
        out
    }

    /// Inserts the rows; `suffix` follows the VALUES list (`ON CONFLICT …`).
    pub(crate) async fn insert<C: ConnectionTrait>(self, db: &C, suffix: &str) -> StoreResult<()> {
        let backend = db.get_database_backend();
        for statement in self.statements(backend, suffix) {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }

    /// Inserts the rows and returns what `RETURNING returning` gives.
    pub(crate) async fn insert_returning<C: ConnectionTrait>(
        self,
        db: &C,
        returning: &str,
    ) -> StoreResult<Vec<QueryResult>> {
        let backend = db.get_database_backend();
        let suffix = format!("RETURNING {returning}");
        let mut out = Vec::new();
        for statement in self.statements(backend, &suffix) {
            out.extend(db.query_all_raw(statement).await?);
        }
        Ok(out)
    }
}

fn insert_sql(
    table: &str,
    columns: &[&str],
    backend: DbBackend,
    rows: usize,
    suffix: &str,
) -> String {
    let width = columns.len();
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            match backend {
                DbBackend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(r * width + c + 1).to_string());
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    if !suffix.is_empty() {
        sql.push(' ');
        sql.push_str(suffix);
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        assert_eq!(
            insert_sql("t", &["a", "b"], DbBackend::Sqlite, 2, ""),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?)"
        );
        assert_eq!(
            insert_sql(
                "t",
                &["a", "b"],
                DbBackend::Postgres,
                2,
                "ON CONFLICT DO NOTHING"
            ),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn rows_are_split_into_statements_that_share_their_text() {
        let mut rows = Rows::new("t", &["a"], 1201);
        for i in 0..1201i64 {
            rows.push([i.into()]);
        }
        let statements = rows.statements(DbBackend::Sqlite, "");
        assert_eq!(statements.len(), 3);
        assert_eq!(statements[0].sql, statements[1].sql);
        let counts: Vec<usize> = statements
            .iter()
            .map(|s| s.values.as_ref().map_or(0, |v| v.0.len()))
            .collect();
        assert_eq!(counts, vec![500, 500, 201]);
    }
}
