"""Question-answering bot on the early-2024 Viamedis/Almerys health-data breach."""
