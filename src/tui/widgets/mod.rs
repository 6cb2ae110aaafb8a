//! Reusable renderers and editors with no knowledge of the app: a windowed table that draws
//! only the rows on screen, the filtered and sorted list behind every list screen, a text
//! input, and the one-line bars.

pub mod bars;
pub mod input;
pub mod row_list;
pub mod table;
