# custom.py of a speechbrain-kd student: the code of its mask network, so
# that the folder loads where neither speechbrain_kd nor the model's own
# module is installed (torch and speechbrain suffice):
#
#     from speechbrain.inference.interfaces import foreign_class
#     enhancer = foreign_class(
#         source="<this folder or repository>",
#         hparams_file="custom.yaml",
#         pymodule_file="custom.py",
#         classname="$classname",
#     )
#
# Written by speechbrain_kd.export; the sections below are copies of the
# modules named in their headers.
