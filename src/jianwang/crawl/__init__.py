"""Crawling key websites: the address guard, the fetcher, robots.txt, page extraction.

Network I/O lives here and nowhere below `services`; nothing here touches the database.
"""
