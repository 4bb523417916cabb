"""Text as documents print it: values (amounts, dates, currencies) and user patterns."""
