//! API keys and usage plans (issue 5). Work in progress.
