"""site_builder: a static, searchable archive of Chinese speech texts (讲话稿)."""

__version__ = "0.1.0"
