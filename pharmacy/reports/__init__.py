"""County figures: the supply dashboard (数字健康驾驶舱), reports and their downloads."""
