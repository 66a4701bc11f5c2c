# Test double of the OpenWrt SDK's include/package.mk, written for
# tests/package/test_sdk_makefile.py. BuildPackage evaluates Package/<name>
# over defaults as the real one does and adds two targets:
#   meta-<name>     prints DEPENDS, PROVIDES, CONFLICTS, VARIANT and friends
#   install-<name>  runs Build/Prepare, Build/Configure, Build/Compile and
#                   Package/<name>/install into $(DEST) (what ipkg-build packs)
# The build directory depends on BUILD_VARIANT, as in the real package.mk.
PKG_BUILD_DIR:=$(BUILD_DIR)/$(if $(BUILD_VARIANT),$(PKG_NAME)-$(BUILD_VARIANT)/)$(PKG_NAME)-$(PKG_VERSION)

define Package/Default
  SECTION:=opt
  CATEGORY:=Extra packages
  TITLE:=
  DEPENDS:=
  PROVIDES:=
  CONFLICTS:=
  VARIANT:=
  DEFAULT_VARIANT:=
  PKGARCH:=
endef

define BuildPackage
$(eval $(Package/Default))
$(eval $(Package/$(1)))
META_$(1):=version=$(PKG_VERSION)-r$(PKG_RELEASE)|depends=$(DEPENDS)|provides=$(PROVIDES)|conflicts=$(CONFLICTS)|variant=$(VARIANT)|default_variant=$(DEFAULT_VARIANT)|pkgarch=$(PKGARCH)|section=$(SECTION)|category=$(CATEGORY)|title=$(TITLE)|license=$(PKG_LICENSE)

meta-$(1):
	@echo '$$(META_$(1))'

install-$(1):
	rm -rf $(PKG_BUILD_DIR) $$(DEST)
	mkdir -p $(PKG_BUILD_DIR) $$(DEST)
	$$(Build/Prepare)
	$$(Build/Configure)
	$$(Build/Compile)
	$$(call Package/$(1)/install,$$(DEST))
endef
