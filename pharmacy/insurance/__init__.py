"""医保 codes on formulary products: the national 医保药品代码 table, imported and attached to the county's products."""
