"""OCR of scanned dossiers: pages to searchable PDFs."""
