"""From ranked sources to an answer: sentence picking, answerability, quote or generate, prompts, modes."""
