"""The rules of the OMC domain, shared by the generators, the collectors, validation and the test helpers.

Plain Python beside the catalog, at the bottom of the layers: :mod:`.trading` (holdings, weighted-average
cost, exact units of the money columns) and :mod:`.sentiment` (news sentiment from community votes).
"""
