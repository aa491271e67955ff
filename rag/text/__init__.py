"""Text toolkit shared by every floor: word lists and stopwords (words), safe terminal printing (terminal)."""
