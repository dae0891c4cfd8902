"""An org's content catalogues: App Store apps with their licences and custom packages
(abm-api-2.md §2.5). Written here only; the Business API reads them."""
