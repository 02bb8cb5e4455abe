//! Redis backend for usage plans (issue 5). Work in progress.
